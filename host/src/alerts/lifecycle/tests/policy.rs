//! `Policy::from_config`: defaults, the `cooldown` alias, and every bad key named.

use super::*;
use crate::config::alerts::{AlertsConfig, RouteConfig};

fn config(text: &str) -> AlertsConfig {
    toml::from_str(text).expect("valid TOML for [alerts]")
}

fn refused(text: &str) -> PolicyError {
    Policy::from_config(&config(text)).expect_err("refused")
}

#[test]
fn defaults_and_the_cooldown_alias() {
    let policy = Policy::from_config(&AlertsConfig::default()).expect("valid");
    assert_eq!(policy.group_wait, Duration::from_secs(30));
    assert_eq!(policy.group_interval, Duration::from_secs(300));
    assert_eq!(policy.repeat_interval, Duration::from_secs(300));
    assert_eq!(policy.group_by, ["host"]);
    assert!(policy.routes.is_empty());
    let alias = Policy::from_config(&config("cooldown = 60.0")).expect("valid");
    assert_eq!(alias.repeat_interval, Duration::from_secs(60));
    let own =
        Policy::from_config(&config("cooldown = 60.0\nrepeat_interval = 90.0")).expect("valid");
    assert_eq!(own.repeat_interval, Duration::from_secs(90));
}

#[test]
fn routes_compile_with_their_overrides() {
    let policy = Policy::from_config(&config(
        "[[routes]]\nmatchers = { level = \"CRITICAL\" }\nmatchers_regex = { host = \"db-.*\" }\n\
         sinks = [\"pager\"]\ncontinue = true\ngroup_by = [\"component\"]\ngroup_wait = 0.0\n\
         [[routes]]\nsinks = [\"chat\"]\nrepeat_interval = 3600.0\n",
    ))
    .expect("valid");
    assert_eq!(policy.routes.len(), 2);
    let first = &policy.routes[0];
    assert!(first.continue_matching);
    assert_eq!(first.sinks, ["pager"]);
    assert_eq!(
        first.group_by.as_deref(),
        Some(&["component".to_owned()][..])
    );
    assert_eq!(first.group_wait, Some(Duration::ZERO));
    assert_eq!(
        first.matchers.regex().get("host").map(String::as_str),
        Some("db-.*")
    );
    assert_eq!(
        policy.routes[1].repeat_interval,
        Some(Duration::from_secs(3600))
    );
    assert!(policy.routes[1].matchers.is_empty());
}

#[test]
fn bad_keys_are_named() {
    let top = |text: &str, key: &str| {
        let error = refused(text);
        assert_eq!(
            (error.route, error.key.as_str()),
            (None, key),
            "{text}: {error:?}"
        );
    };
    top("group_wait = -1.0", "group_wait");
    top("group_wait = inf", "group_wait");
    top("group_interval = 0.0", "group_interval");
    top("repeat_interval = nan", "repeat_interval");
    top("cooldown = -5.0", "cooldown");
    top("group_wait = 1e12", "group_wait");
    top("group_by = [\"host\", \"\"]", "group_by");

    let route = |text: &str, index: usize, key: &str| {
        let error = refused(text);
        assert_eq!(
            (error.route, error.key.as_str()),
            (Some(index), key),
            "{text}: {error:?}"
        );
    };
    route("[[routes]]\nsinks = []\n", 0, "sinks");
    route(
        "[[routes]]\nsinks = [\"a\"]\n[[routes]]\nsinks = [\"b\"]\nmatchers_regex = { host = \"web-(\" }\n",
        1,
        "matchers_regex.host",
    );
    route(
        "[[routes]]\nsinks = [\"a\"]\nmatchers = { host = \"\" , \"\" = \"x\" }\n",
        0,
        "matchers",
    );
    route(
        "[[routes]]\nsinks = [\"a\"]\ngroup_interval = 0.0\n",
        0,
        "group_interval",
    );
    route(
        "[[routes]]\nsinks = [\"a\"]\ngroup_by = [\" \"]\n",
        0,
        "group_by",
    );
    let error = refused("[[routes]]\nsinks = [\"a\"]\nmatchers_regex = { host = \"web-(\" }\n");
    assert!(error.message.contains("regex"), "{error:?}");
}

#[test]
fn too_many_routes_are_refused() {
    let route = RouteConfig {
        matchers: BTreeMap::new(),
        matchers_regex: BTreeMap::new(),
        sinks: vec!["a".into()],
        continue_matching: false,
        group_by: None,
        group_wait: None,
        group_interval: None,
        repeat_interval: None,
    };
    let many = AlertsConfig {
        routes: (0..=MAX_ROUTES)
            .map(|_| toml::Spanned::new(0..0, route.clone()))
            .collect(),
        ..AlertsConfig::default()
    };
    assert_eq!(
        Policy::from_config(&many).expect_err("refused").key,
        "routes"
    );
}

#[test]
fn warnings_name_unknown_sinks_and_a_missing_catch_all() {
    let sinks = ["chat".to_owned(), "pager".to_owned()];
    let caught = Policy::from_config(&config(
        "[[routes]]\nmatchers = { level = \"CRITICAL\" }\nsinks = [\"pager\"]\n\
         [[routes]]\nsinks = [\"chat\"]\n",
    ))
    .expect("valid");
    assert!(caught.warnings(&sinks).is_empty());
    let uncaught = Policy::from_config(&config(
        "[[routes]]\nmatchers = { level = \"CRITICAL\" }\nsinks = [\"pagr\"]\n",
    ))
    .expect("valid");
    let warnings = uncaught.warnings(&sinks);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("`alerts.routes[0].sinks` names `pagr`"),
        "{warnings:?}"
    );
    assert!(warnings[1].contains("catch the rest"), "{warnings:?}");
    assert!(
        Policy::default().warnings(&sinks).is_empty(),
        "no routes: everyone"
    );
}
