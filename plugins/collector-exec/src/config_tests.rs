use super::*;

fn load(toml_commands: serde_json::Value) -> Result<Vec<Plan>, String> {
    let config: Config = serde_json::from_value(serde_json::json!({ "commands": toml_commands }))
        .map_err(|e| e.to_string())?;
    plans(config).map_err(|e| e.message().to_owned())
}

#[test]
fn fills_defaults_and_a_safe_path() {
    let plans = load(serde_json::json!([
        {"name": "load", "command": ["/usr/lib/nagios/plugins/check_load", "-w", "5"], "format": "nagios"},
        {"name": "smart", "command": "smartctl -a /dev/sda | ./to-json", "shell": true,
         "format": "json", "env": {"LANG": "C"}, "section": "disks_smart", "mode": "daemon",
         "signal": "stdin", "interval": 0.5}
    ]))
    .expect("valid");
    let load = &plans[0];
    assert_eq!(load.section, "load");
    assert_eq!(load.interval, Duration::from_secs(10));
    assert_eq!(load.timeout, Duration::from_secs(5));
    assert_eq!(load.spec.max_output, 1024 * 1024);
    assert_eq!(
        load.spec.env,
        [("PATH".to_owned(), DEFAULT_PATH.to_owned())]
    );
    let smart = &plans[1];
    assert_eq!(
        smart.spec.argv,
        ["/bin/sh", "-c", "smartctl -a /dev/sda | ./to-json"]
    );
    assert_eq!(smart.section, "disks_smart");
    assert!(smart.signal_stdin);
    assert_eq!(smart.spec.env.len(), 2);
}

#[test]
fn refusals_name_the_key_and_the_command() {
    let cases = [
        (
            serde_json::json!([{"name": "a", "command": "ls", "format": "json"}]),
            "command `a`",
            "`command` is a string",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls", "-l"], "shell": true, "format": "json"}]),
            "command `a`",
            "one string",
        ),
        (
            serde_json::json!([{"name": "a", "command": [], "format": "json"}]),
            "command `a`",
            "`command` is empty",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls"], "format": "yaml"}]),
            "command `a`",
            "yaml",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls"], "format": "json", "colour": 1}]),
            "command `a`",
            "`colour`",
        ),
        (
            serde_json::json!([{"name": "a b", "command": ["ls"], "format": "json"}]),
            "commands[0]",
            "`name`",
        ),
        (
            serde_json::json!([{"command": ["ls"], "format": "json"}]),
            "commands[0]",
            "`name`",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls"], "format": "json", "interval": 0}]),
            "command `a`",
            "`interval`",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls"], "format": "json", "timeout": 1e9}]),
            "command `a`",
            "`timeout`",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls"], "format": "json", "max_output": 0}]),
            "command `a`",
            "`max_output`",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls"], "format": "nagios", "mode": "daemon"}]),
            "command `a`",
            "`daemon`",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls"], "format": "json", "signal": "stdin"}]),
            "command `a`",
            "`signal`",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls"], "format": "json", "section": "exec"}]),
            "command `a`",
            "`section`",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls"], "format": "json", "env": {"A=B": "x"}}]),
            "command `a`",
            "`env`",
        ),
        (
            serde_json::json!([{"name": "a", "command": ["ls"], "format": "json", "user": "no-such-user-here"}]),
            "command `a`",
            "`user`",
        ),
        (
            serde_json::json!([
                {"name": "a", "command": ["ls"], "format": "json"},
                {"name": "a", "command": ["ls"], "format": "json", "section": "b"}
            ]),
            "command `a`",
            "earlier command",
        ),
        (
            serde_json::json!([
                {"name": "a", "command": ["ls"], "format": "json", "section": "s"},
                {"name": "b", "command": ["ls"], "format": "json", "section": "s"}
            ]),
            "command `b`",
            "`section` `s`",
        ),
    ];
    for (commands, who, what) in cases {
        let err = load(commands.clone()).expect_err(&commands.to_string());
        assert!(err.starts_with("`commands`: "), "{err}");
        assert!(err.contains(who), "{commands}: {err}");
        assert!(err.contains(what), "{commands}: {err}");
    }
}

#[test]
fn names_no_env_value_in_its_refusals() {
    let err = load(serde_json::json!([
        {"name": "a", "command": ["ls"], "format": "json", "env": {"TOKEN": "s3cret\u{0}"}}
    ]))
    .expect_err("NUL in a value");
    assert!(!err.contains("s3cret"), "{err}");
}
