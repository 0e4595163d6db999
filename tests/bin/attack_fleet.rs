//! Runs issue 20's fleet attacks against a NATS bus, for `bench/security.sh`:
//!
//! ```text
//! attack-fleet --nats nats://127.0.0.1:4222 --mode names|big [--hosts N] [--seconds S]
//!              [--bytes B] [--token T] [--prefix monitoring]
//! ```
//!
//! `names`: each round publishes N tiny frames under N new host names (default 5000);
//! `big`: each round publishes one frame of B bytes (default 1,000,000) from each of N
//! hosts (default 300). A round starts every second for S seconds (default 0: one
//! round). The token may also come from `MONITORING_ATTACK_NATS_TOKEN`.
//!
//! With `--viewer ws://GATEWAY/ws`, a client of the gateway subscribed to every host
//! (as a fleet dashboard is) reads from before the attack until two seconds after it,
//! up to `--budget` bytes (default 1 GB), and the last line says what it received: the
//! cost of the attack to one viewer.

#[path = "../attacks/fleet.rs"]
mod attack;

use std::time::{Duration, Instant};

fn value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .map(String::as_str)
}

fn number(args: &[String], name: &str, default: usize) -> usize {
    match value(args, name) {
        None => default,
        Some(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("{name} wants a whole number, got {text:?}");
            std::process::exit(2)
        }),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(mode)) = (value(&args, "--nats"), value(&args, "--mode")) else {
        eprintln!("usage: attack-fleet --nats URL --mode names|big [--hosts N] [--seconds S] [--bytes B] [--token T] [--prefix P]");
        std::process::exit(2)
    };
    let big = match mode {
        "names" => false,
        "big" => true,
        other => {
            eprintln!("--mode is names or big, got {other:?}");
            std::process::exit(2)
        }
    };
    let hosts = number(&args, "--hosts", if big { 300 } else { 5000 });
    let bytes = number(&args, "--bytes", 1_000_000);
    let seconds = number(&args, "--seconds", 0);
    let prefix = value(&args, "--prefix").unwrap_or("monitoring");
    let token = value(&args, "--token")
        .map(str::to_owned)
        .or_else(|| std::env::var("MONITORING_ATTACK_NATS_TOKEN").ok());
    let client = match attack::connect(url, token.as_deref()).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    };
    let viewer = match value(&args, "--viewer") {
        Some(url) => Some(viewer::start(url, number(&args, "--budget", 1 << 30)).await),
        None => None,
    };
    let start = Instant::now();
    let mut round = 0;
    loop {
        let sent = if big {
            attack::big(&client, prefix, hosts, bytes).await
        } else {
            attack::names(&client, prefix, round, hosts).await
        };
        match sent {
            Ok(sent) => println!(
                "round {round}: {} messages, {} bytes in {:.3} s",
                sent.messages,
                sent.bytes,
                sent.elapsed.as_secs_f64()
            ),
            Err(e) => {
                eprintln!("round {round}: {e}");
                std::process::exit(1)
            }
        }
        round += 1;
        let next = Duration::from_secs(round as u64);
        if next >= Duration::from_secs(seconds as u64) {
            break;
        }
        tokio::time::sleep(next.saturating_sub(start.elapsed())).await;
    }
    if let Some(viewer) = viewer {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (messages, bytes) = viewer.received();
        println!("viewer received {bytes} bytes in {messages} messages");
    }
}

/// A fleet viewer counting what it receives.
mod viewer {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    pub struct Viewer {
        messages: Arc<AtomicUsize>,
        bytes: Arc<AtomicUsize>,
    }

    impl Viewer {
        pub fn received(&self) -> (usize, usize) {
            (
                self.messages.load(Ordering::Relaxed),
                self.bytes.load(Ordering::Relaxed),
            )
        }
    }

    /// Connects to `url`, subscribes to every host and reads until `budget` bytes.
    pub async fn start(url: &str, budget: usize) -> Viewer {
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .unwrap_or_else(|e| {
                eprintln!("viewer: cannot connect to {url}: {e}");
                std::process::exit(1)
            });
        let subscribe = r#"{"type":"subscribe","hosts":["*"]}"#;
        if let Err(e) = ws.send(Message::text(subscribe)).await {
            eprintln!("viewer: cannot subscribe: {e}");
            std::process::exit(1)
        }
        let messages = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(AtomicUsize::new(0));
        let (m, b) = (Arc::clone(&messages), Arc::clone(&bytes));
        tokio::spawn(async move {
            while let Some(Ok(message)) = ws.next().await {
                if let Message::Text(text) = message {
                    m.fetch_add(1, Ordering::Relaxed);
                    if b.fetch_add(text.len(), Ordering::Relaxed) + text.len() > budget {
                        break;
                    }
                }
            }
        });
        Viewer { messages, bytes }
    }
}
