//! The keys of a sink's `[plugins.<name>]` table that the host consumes and strips
//! before the plugin sees its settings: the seed's alert filters (`create_level_filter`,
//! `create_component_filter`, `create_time_filter`) and the sink's queue policy.
//!
//! Filters are the host's, not each plugin's, so every sink gets the same ones with
//! the same semantics, and an alert a sink would ignore never takes a place in its
//! queue. They apply to alerts and resolutions only, never to snapshots.

use std::str::FromStr;

use chrono::{DateTime, Local, Timelike, Utc};
use chrono_tz::Tz;
use monitoring_plugin_api::{Alert, AlertLevel};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The keys read here; anything else in the table is the plugin's.
pub const HOST_KEYS: [&str; 5] = [
    "min_level",
    "components",
    "active_hours",
    "queue_size",
    "max_retries",
];

/// Longest queue a sink may ask for.
const MAX_QUEUE_SIZE: usize = 1_000_000;

/// Most retries a sink may ask for.
const MAX_RETRIES: u32 = 100;

/// What the host does for one sink, from its `[plugins.<name>]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOptions {
    /// `min_level = "WARNING" | "CRITICAL"`: the least severe level delivered
    /// (a resolution counts at the level that fired). Default: every level.
    pub min_level: Option<AlertLevel>,
    /// `components = ["memory", "disk"]`: only alerts of these components. Default:
    /// every component.
    pub components: Option<Vec<String>>,
    /// `active_hours = { start = 9, end = 18, timezone = "Europe/Paris" }`: deliver only
    /// from `start` o'clock until `end` o'clock (`end` excluded); `start > end` crosses
    /// midnight. `timezone` is an IANA name; without it, the server's local time.
    /// Default: all day.
    pub active_hours: Option<ActiveHours>,
    /// `queue_size`: alerts waiting for this sink at most; when full, the oldest is
    /// dropped and counted. Default 100 (the seed's `DATA_QUEUE_SIZE`).
    pub queue_size: usize,
    /// `max_retries`: retries of a retryable failure (back-off 1 s doubling to 60 s)
    /// before the alert counts as failed. Default 5.
    pub max_retries: u32,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            min_level: None,
            components: None,
            active_hours: None,
            queue_size: default_queue_size(),
            max_retries: default_max_retries(),
        }
    }
}

fn default_queue_size() -> usize {
    100
}

fn default_max_retries() -> u32 {
    5
}

/// A daily delivery window.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveHours {
    /// First hour delivered, 0–23.
    pub start: u32,
    /// First hour not delivered, 0–24.
    pub end: u32,
    /// Time zone of the hours; `None` for the server's local time.
    pub timezone: Option<Tz>,
}

/// `active_hours` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActiveHoursConfig {
    start: u32,
    end: u32,
    #[serde(default)]
    timezone: Option<String>,
}

impl DeliveryOptions {
    /// Reads the host's keys; on error, the key and what is wrong with it.
    pub fn from_settings(settings: &Map<String, Value>) -> Result<Self, (String, String)> {
        let mut options = Self::default();
        for (key, value) in settings {
            let fail = |message: String| (key.clone(), message);
            match key.as_str() {
                "min_level" => {
                    let name: String = parse(value).map_err(fail)?;
                    options.min_level = Some(match name.to_ascii_uppercase().as_str() {
                        "WARNING" => AlertLevel::Warning,
                        "CRITICAL" => AlertLevel::Critical,
                        _ => {
                            return Err(fail(format!(
                                "must be \"WARNING\" or \"CRITICAL\", got \"{name}\""
                            )))
                        }
                    });
                }
                "components" => {
                    let components: Vec<String> = parse(value).map_err(fail)?;
                    if components.is_empty() {
                        return Err(fail(
                            "must name at least one component (leave it out for all)".into(),
                        ));
                    }
                    options.components = Some(components);
                }
                "active_hours" => {
                    let config: ActiveHoursConfig = parse(value).map_err(fail)?;
                    options.active_hours = Some(ActiveHours::new(config).map_err(fail)?);
                }
                "queue_size" => {
                    let size: usize = parse(value).map_err(fail)?;
                    if !(1..=MAX_QUEUE_SIZE).contains(&size) {
                        return Err(fail(format!(
                            "must be between 1 and {MAX_QUEUE_SIZE}, got {size}"
                        )));
                    }
                    options.queue_size = size;
                }
                "max_retries" => {
                    let retries: u32 = parse(value).map_err(fail)?;
                    if retries > MAX_RETRIES {
                        return Err(fail(format!(
                            "must be at most {MAX_RETRIES}, got {retries}"
                        )));
                    }
                    options.max_retries = retries;
                }
                _ => return Err(fail("is not a delivery setting".into())),
            }
        }
        Ok(options)
    }

    /// Whether an alert (or the resolution of one) goes to this sink at `now`.
    pub fn accepts(&self, alert: &Alert, now: DateTime<Utc>) -> bool {
        self.min_level.is_none_or(|min| alert.level >= min)
            && self
                .components
                .as_ref()
                .is_none_or(|list| list.contains(&alert.component))
            && self.active_hours.as_ref().is_none_or(|w| w.contains(now))
    }
}

impl ActiveHours {
    fn new(config: ActiveHoursConfig) -> Result<Self, String> {
        if config.start > 23 {
            return Err(format!(
                "`start` must be an hour from 0 to 23, got {}",
                config.start
            ));
        }
        if config.end > 24 {
            return Err(format!(
                "`end` must be an hour from 0 to 24, got {}",
                config.end
            ));
        }
        if config.start == config.end % 24 {
            return Err(
                "`start` and `end` are the same hour: leave `active_hours` out to deliver all day"
                    .into(),
            );
        }
        let timezone = match config.timezone {
            None => None,
            Some(name) => Some(Tz::from_str(&name).map_err(|_| {
                format!("unknown time zone \"{name}\": use an IANA name such as \"Europe/Paris\"")
            })?),
        };
        Ok(Self {
            start: config.start,
            end: config.end,
            timezone,
        })
    }

    /// Whether `now` falls in the window, in the window's time zone.
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        let hour = match self.timezone {
            Some(zone) => now.with_timezone(&zone).hour(),
            None => now.with_timezone(&Local).hour(),
        };
        if self.start < self.end {
            self.start <= hour && hour < self.end
        } else {
            hour >= self.start || hour < self.end
        }
    }
}

fn parse<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    T::deserialize(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn options(value: Value) -> Result<DeliveryOptions, (String, String)> {
        match value {
            Value::Object(map) => DeliveryOptions::from_settings(&map),
            _ => Err((String::new(), "not a table".into())),
        }
    }

    fn alert(component: &str, level: AlertLevel) -> Alert {
        Alert {
            timestamp: "2025-01-03T10:15:30.123456".into(),
            component: component.into(),
            metric: "usage_percent".into(),
            value: 85.5,
            threshold: 80.0,
            level,
            message: "High memory usage: 85.5% (threshold: 80.0%)".into(),
            ..Default::default()
        }
    }

    fn utc(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 15, hour, minute, 0)
            .single()
            .expect("a valid time")
    }

    #[test]
    fn defaults_accept_everything() {
        let options = options(json!({})).expect("valid");
        assert_eq!(options, DeliveryOptions::default());
        assert_eq!((options.queue_size, options.max_retries), (100, 5));
        assert!(options.accepts(&alert("gpu", AlertLevel::Warning), utc(3, 0)));
    }

    #[test]
    fn level_filter() {
        let options = options(json!({"min_level": "critical"})).expect("valid");
        assert!(!options.accepts(&alert("memory", AlertLevel::Warning), utc(12, 0)));
        assert!(options.accepts(&alert("memory", AlertLevel::Critical), utc(12, 0)));
    }

    #[test]
    fn component_filter() {
        let options = options(json!({"components": ["memory", "cpu"]})).expect("valid");
        assert!(options.accepts(&alert("memory", AlertLevel::Warning), utc(12, 0)));
        assert!(!options.accepts(&alert("disk", AlertLevel::Critical), utc(12, 0)));
    }

    #[test]
    fn time_window_in_its_zone() {
        // Paris is UTC+1 in January: 9–18 Paris is 8–17 UTC.
        let options =
            options(json!({"active_hours": {"start": 9, "end": 18, "timezone": "Europe/Paris"}}))
                .expect("valid");
        let warning = alert("memory", AlertLevel::Warning);
        assert!(!options.accepts(&warning, utc(7, 59)));
        assert!(options.accepts(&warning, utc(8, 0)));
        assert!(options.accepts(&warning, utc(16, 59)));
        assert!(!options.accepts(&warning, utc(17, 0)));
    }

    #[test]
    fn time_window_crossing_midnight() {
        let options = options(json!({"active_hours": {"start": 22, "end": 6, "timezone": "UTC"}}))
            .expect("valid");
        let warning = alert("memory", AlertLevel::Warning);
        for (hour, inside) in [
            (21, false),
            (22, true),
            (23, true),
            (0, true),
            (5, true),
            (6, false),
            (12, false),
        ] {
            assert_eq!(
                options.accepts(&warning, utc(hour, 30)),
                inside,
                "{hour}:30"
            );
        }
    }

    #[test]
    fn bad_values_name_the_key() {
        let key = |value: Value| options(value).expect_err("refused").0;
        assert_eq!(key(json!({"min_level": "INFO"})), "min_level");
        assert_eq!(key(json!({"min_level": 3})), "min_level");
        assert_eq!(key(json!({"components": []})), "components");
        assert_eq!(key(json!({"components": "memory"})), "components");
        assert_eq!(
            key(json!({"active_hours": {"start": 9, "end": 9}})),
            "active_hours"
        );
        assert_eq!(
            key(json!({"active_hours": {"start": 25, "end": 9}})),
            "active_hours"
        );
        assert_eq!(key(json!({"active_hours": {"start": 9}})), "active_hours");
        assert_eq!(
            key(json!({"active_hours": {"start": 9, "end": 18, "tz": "UTC"}})),
            "active_hours"
        );
        assert_eq!(key(json!({"queue_size": 0})), "queue_size");
        assert_eq!(key(json!({"max_retries": -1})), "max_retries");
        let (_, message) =
            options(json!({"active_hours": {"start": 9, "end": 18, "timezone": "Mars/Olympus"}}))
                .expect_err("refused");
        assert!(
            message.contains("unknown time zone \"Mars/Olympus\""),
            "{message}"
        );
    }
}
