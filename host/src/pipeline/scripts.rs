//! What `get_status` and `/health` say of the collectors that run scripts (issue 24):
//! each `exec` command's last run (from the `exec` section) and each textfile
//! directory's scrape error (node_exporter's `node_textfile_scrape_error`, which the
//! `textfile` collector puts in its Prometheus section's values).
//!
//! Read from the newest snapshot, like the GPU summary: the collectors report, the
//! surfaces only shape it. It lives with the wire types because `get_status` carries it. Absent (and left out of both replies) when no collector
//! made either.

use std::collections::BTreeMap;

use monitoring_plugin_api::sections::scripted::ScriptFormat;
use monitoring_plugin_api::sections::scripted::{CommandStatus, Exec, PrometheusSection};
use monitoring_plugin_api::sections::Section;
use monitoring_plugin_api::Sections;
use serde::{Deserialize, Serialize};

/// The value a textfile section sets to 1 when a `*.prom` file could not be read.
pub const TEXTFILE_SCRAPE_ERROR: &str = "node_textfile_scrape_error";

/// The scripts' status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scripts {
    /// Each `exec` command's last run, by command name.
    pub commands: BTreeMap<String, CommandStatus>,
    /// Each section that reports a textfile scrape, by section: whether its last
    /// scrape had an error.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub textfile_scrape_error: BTreeMap<String, bool>,
}

impl Scripts {
    /// The scripts' status in `data`, or `None` when no script collector ran.
    pub fn of(data: &Sections) -> Option<Self> {
        let commands = Exec::from_sections(data)
            .and_then(Result::ok)
            .map(|exec| exec.commands)
            .unwrap_or_default();
        let textfile_scrape_error: BTreeMap<String, bool> = data
            .iter()
            .filter(|(_, value)| ScriptFormat::of(value) == Some(ScriptFormat::Prometheus))
            .filter_map(|(name, value)| {
                let section = PrometheusSection::deserialize(value).ok()?;
                let error = section.values.get(TEXTFILE_SCRAPE_ERROR)?;
                Some((name.clone(), *error != 0.0))
            })
            .collect();
        if commands.is_empty() && textfile_scrape_error.is_empty() {
            return None;
        }
        Some(Self {
            commands,
            textfile_scrape_error,
        })
    }

    /// One warning per command whose last run failed and per textfile scrape error,
    /// for `/health` (a failing script degrades the server; it never makes it
    /// unhealthy: the rest of the data is live).
    pub fn warnings(&self) -> Vec<String> {
        let commands = self.commands.iter().filter_map(|(name, status)| {
            let error = status.error.as_deref()?;
            Some(format!(
                "exec: command `{name}` failed its last run: {error}"
            ))
        });
        let textfiles = self
            .textfile_scrape_error
            .iter()
            .filter(|(_, error)| **error)
            .map(|(section, _)| {
                format!("textfile: section `{section}` could not read a file (see the log)")
            });
        commands.chain(textfiles).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn commands_and_textfile_errors_are_read_and_warned_about() {
        let data: Sections = json!({
            "exec": {"commands": {
                "load": {"section": "load", "format": "nagios", "mode": "once",
                    "duration_ms": 3.0, "exit_code": 2, "runs": 4, "failures": 0},
                "hang": {"section": "hang", "format": "json", "mode": "once",
                    "duration_ms": 5000.0, "runs": 1, "failures": 1,
                    "error": "hang: killed after its 5 s timeout"}}},
            "textfile": {"format": "prometheus", "families": [],
                "values": {"node_textfile_scrape_error": 1.0}},
            "other": {"format": "prometheus", "families": [], "values": {}},
        })
        .as_object()
        .cloned()
        .expect("an object");
        let scripts = Scripts::of(&data).expect("scripts ran");
        assert_eq!(scripts.commands["load"].exit_code, Some(2));
        assert_eq!(scripts.textfile_scrape_error.len(), 1);
        assert_eq!(
            scripts.warnings(),
            [
                "exec: command `hang` failed its last run: hang: killed after its 5 s timeout",
                "textfile: section `textfile` could not read a file (see the log)",
            ]
        );
        assert_eq!(Scripts::of(&Sections::new()), None);
    }
}
