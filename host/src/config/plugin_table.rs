//! One `[plugins.<name>]` table of plugins.toml: `enabled`, the keys the host keeps
//! for itself (a sink's filters, queue and retries), and the plugin's own settings,
//! each with the line it was written on so that a plugin's complaint about a key can be
//! pointed back at the file.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

use super::delivery::{DeliveryOptions, HOST_KEYS};
use super::lines::line_at;

/// One `[plugins.<name>]` table: `enabled`, plus the plugin's own settings.
#[derive(Debug, Clone, Default)]
pub struct PluginTable {
    /// `enabled = …` if present: collectors run unless `false`, sinks only if `true`.
    pub enabled: Option<bool>,
    /// `interval = …` seconds if present: how often a collector is asked (host policy;
    /// rounded to whole ticks). The plugin never sees it.
    pub interval: Option<f64>,
    /// The remaining keys, handed to the plugin as a JSON object.
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// The keys the host consumes for a sink (filters, queue, retries), read from
    /// `host_settings` once lines are known.
    pub delivery: DeliveryOptions,
    /// Those keys as written, kept apart so the plugin never sees them.
    pub host_settings: serde_json::Map<String, serde_json::Value>,
    /// Line of the table header (1-based), 0 when unknown.
    pub line: usize,
    /// Line of each setting (1-based), for pointing at the key a plugin rejects.
    pub key_lines: BTreeMap<String, usize>,
}

impl PluginTable {
    pub(super) fn resolve_lines(&mut self, text: &str) {
        self.line = line_at(text, self.line);
        for line in self.key_lines.values_mut() {
            *line = line_at(text, *line);
        }
    }

    /// The line of the first setting named in `message` (plugins quote keys in
    /// backticks, as serde does), else the table's own line.
    pub fn line_for_message(&self, message: &str) -> usize {
        message
            .split('`')
            .skip(1)
            .step_by(2)
            .find_map(|quoted| self.key_lines.get(quoted).copied())
            .unwrap_or(self.line)
    }

    /// The settings as the JSON text handed to the plugin.
    pub fn settings_json(&self) -> String {
        serde_json::Value::Object(self.settings.clone()).to_string()
    }
}

/// The table as the operator would write it (`--print-config`): `enabled` and
/// `interval` when set, then the plugin's own keys and the host's delivery keys; the
/// line numbers are bookkeeping, not settings, and are left out.
impl Serialize for PluginTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(enabled) = self.enabled {
            map.serialize_entry("enabled", &enabled)?;
        }
        if let Some(interval) = self.interval {
            map.serialize_entry("interval", &interval)?;
        }
        for (key, value) in self.settings.iter().chain(&self.host_settings) {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The longest per-plugin interval accepted: a day.
const MAX_INTERVAL_SECS: f64 = 86_400.0;

/// Deserializes plugin tables keeping byte offsets (turned into lines afterwards).
pub(super) fn deserialize_plugins<'de, D>(
    deserializer: D,
) -> Result<BTreeMap<String, PluginTable>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    type RawTable = BTreeMap<String, Spanned<toml::Value>>;
    let raw: BTreeMap<String, Spanned<RawTable>> = BTreeMap::deserialize(deserializer)?;
    let mut tables = BTreeMap::new();
    for (name, spanned) in raw {
        let start = spanned.span().start;
        let mut table = PluginTable {
            line: start,
            ..PluginTable::default()
        };
        for (key, value) in spanned.into_inner() {
            let offset = value.span().start;
            let value = value.into_inner();
            if key == "enabled" {
                let enabled = value.as_bool().ok_or_else(|| {
                    D::Error::custom(format!(
                        "`plugins.{name}.enabled` must be true or false, got {value}"
                    ))
                })?;
                table.enabled = Some(enabled);
                continue;
            }
            if key == "interval" {
                let seconds = value
                    .as_float()
                    .or_else(|| value.as_integer().map(|i| i as f64))
                    .filter(|s| s.is_finite() && *s > 0.0 && *s <= MAX_INTERVAL_SECS)
                    .ok_or_else(|| {
                        D::Error::custom(format!(
                            "`plugins.{name}.interval` must be seconds between 0 and {MAX_INTERVAL_SECS}, got {value}"
                        ))
                    })?;
                table.interval = Some(seconds);
                continue;
            }
            let json = serde_json::to_value(&value).map_err(D::Error::custom)?;
            table.key_lines.insert(key.clone(), offset);
            if HOST_KEYS.contains(&key.as_str()) {
                table.host_settings.insert(key, json);
            } else {
                table.settings.insert(key, json);
            }
        }
        tables.insert(name, table);
    }
    Ok(tables)
}
