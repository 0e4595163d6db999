//! Issue 26: who may publish as whom. A real `nats-server` with the authorization
//! config of docs/fleet.md (a user per host, allowed to publish only
//! `monitoring.<host>.>`; the gateway may subscribe to `monitoring.>`), a real
//! publisher, and an impostor whose credentials are another user's: NATS refuses its
//! frames, the gateway never lists the name it claimed, and the impostor's `/health`
//! says why.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use monitoring_test_support::http::get;
use monitoring_test_support::peer::{require, Peer};
use monitoring_test_support::{Server, Setup};

const SECOND: Duration = Duration::from_secs(1);
const PASSWORD_ENV: &str = "MONITORING_FLEET_TEST_PASSWORD";
const PLUGINS: [&str; 2] = ["collector-cpu", "collector-memory"];

/// The config docs/fleet.md shows, for hosts `web-1` and `web-2` and a gateway.
const AUTHORIZATION: &str = r#"
authorization {
  users = [
    { user: "web-1", password: "pw-web-1",
      permissions: { publish: "monitoring.web-1.>", subscribe: "_INBOX.>" } }
    { user: "web-2", password: "pw-web-2",
      permissions: { publish: "monitoring.web-2.>", subscribe: "_INBOX.>" } }
    { user: "gateway", password: "pw-gateway",
      permissions: { publish: ["monitoring.gateway.>", "_INBOX.>"], subscribe: ["monitoring.>", "_INBOX.>"] } }
  ]
}
"#;

/// `nats-server -c <config>` on a free port, killed by its own handle on drop.
struct AuthorizedNats {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl AuthorizedNats {
    fn start() -> Option<Self> {
        let binary = require(Peer::NatsServer)?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("scratch");
        let config = dir.path().join("nats.conf");
        std::fs::write(&config, AUTHORIZATION).expect("write nats.conf");
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-c"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        let deadline = Instant::now() + 10 * SECOND;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Self {
            child,
            port,
            _dir: dir,
        })
    }
}

impl Drop for AuthorizedNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server publishing as `host` with NATS user `user`.
fn server(nats: &AuthorizedNats, host: &str, user: &str, password: &str, extra: &str) -> Server {
    let config = format!(
        "[fleet]\nnats_url = \"nats://127.0.0.1:{}\"\nhost_name = \"{host}\"\nuser = \"{user}\"\n\
         password_env = \"{PASSWORD_ENV}\"\n{extra}\n",
        nats.port
    );
    Server::start_with_env(
        Setup {
            plugins: &PLUGINS,
            config: &config,
            extra_files: &[],
        },
        &[(PASSWORD_ENV, password)],
    )
}

fn listed(gateway: &Server) -> Vec<String> {
    let reply = get(gateway.port, "/api/hosts");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["hosts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|host| host["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_host_cannot_publish_under_another_hosts_name() {
    let Some(nats) = AuthorizedNats::start() else {
        return;
    };
    let gateway = server(
        &nats,
        "gateway",
        "gateway",
        "pw-gateway",
        "gateway = true\npublish = false",
    );
    let _honest = server(&nats, "web-1", "web-1", "pw-web-1", "");
    // web-2's credentials, web-1's name.
    let impostor = server(&nats, "web-1", "web-2", "pw-web-2", "");
    let deadline = Instant::now() + 20 * SECOND;
    let refusal = loop {
        let health = get(impostor.port, "/health").json();
        let error = health["fleet"]["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if error.to_lowercase().contains("permissions violation") {
            break Some(error);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let error = refusal.unwrap_or_else(|| {
        panic!(
            "the impostor's /health never named the refusal: {}",
            get(impostor.port, "/health").body
        )
    });
    assert!(error.contains("monitoring.web-1"), "{error}");
    assert!(!error.contains("pw-web-2"), "no secret in /health: {error}");
    assert_eq!(listed(&gateway), ["web-1"]);
    // The honest web-1 is what the gateway shows: its frames, one per tick, not two.
    let frames = |gateway: &Server| {
        get(gateway.port, "/health").json()["fleet"]["frames_received"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = frames(&gateway);
    std::thread::sleep(4 * SECOND);
    let per_second = (frames(&gateway) - before) as f64 / 4.0;
    assert!(
        (1.0..=3.0).contains(&per_second),
        "one publisher's 2 Hz, not two: {per_second}/s"
    );
}
