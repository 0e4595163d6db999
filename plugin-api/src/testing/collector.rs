//! The collector contract, checked through the exported root module: the `extern "C"`
//! constructor, the `CollectorAbi` trait object and the JSON the host parses.

use abi_stable::std_types::RStr;
use serde_json::Value;

use super::check_sections;
use crate::{Collector, Exported, PluginKind, PluginModRef, Sections};

/// Builds `C` from default settings through its exported root module, collects twice,
/// checks both readings with [`check_sections`] and returns the second.
///
/// # Panics
/// When the collector breaks the contract; this is a test helper.
pub fn check_collector<C: Collector + Exported>() -> Sections {
    match collector_compliance(C::root_module(), "{}") {
        Ok(sections) => sections,
        Err(problem) => panic!("{} broke the collector contract: {problem}", C::NAME),
    }
}

/// [`check_collector`] without the panic, for any root module and settings: the first
/// problem, or the second reading.
pub fn collector_compliance(module: PluginModRef, settings: &str) -> Result<Sections, String> {
    let metadata = (module.metadata())();
    if metadata.kind.as_enum().ok() != Some(&PluginKind::Collector) {
        return Err(format!(
            "declares kind {:?}, not a collector",
            metadata.kind
        ));
    }
    if module.new_sink().is_some() || module.wants_snapshots() {
        return Err("a collector exports sink parts".into());
    }
    let new = module
        .new_collector()
        .ok_or("exports no collector constructor")?;
    if let Ok(_built) = new(RStr::from_str(r#"{"surely_not_a_setting": 1}"#)).into_result() {
        return Err("accepts an unknown setting (use #[serde(deny_unknown_fields)])".into());
    }
    let mut collector = new(RStr::from_str(settings))
        .into_result()
        .map_err(|e| format!("does not build from {settings}: {e}"))?;
    let mut last = Sections::new();
    for tick in 1..=2 {
        let json = collector
            .collect()
            .into_result()
            .map_err(|e| format!("collect #{tick} failed: {e}"))?;
        let value: Value = serde_json::from_str(json.as_str())
            .map_err(|e| format!("collect #{tick} returned invalid JSON: {e}"))?;
        let Value::Object(sections) = value else {
            return Err(format!(
                "collect #{tick} returned {value}, not an object of sections"
            ));
        };
        check_sections(&sections).map_err(|problem| {
            format!(
                "collect #{tick}: {problem}\n{:#}",
                Value::Object(sections.clone())
            )
        })?;
        last = sections;
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::sections::Memory;

    /// What the scripted collector reports. Numbers are strings because JSON settings
    /// cannot spell NaN or ∞, and Rust's `f64` parser can.
    #[derive(Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Config {
        memory_percentage: String,
        memory_used: Option<u64>,
        humidity_percent: String,
    }

    impl Default for Config {
        fn default() -> Self {
            Self {
                memory_percentage: "40".into(),
                memory_used: None,
                humidity_percent: "5".into(),
            }
        }
    }

    #[derive(Serialize)]
    struct Output {
        memory: Memory,
        weather: Weather,
    }

    /// A free-form, third-party section.
    #[derive(Serialize)]
    struct Weather {
        humidity_percent: f64,
    }

    /// Reports whatever its settings say, to prove each rule can fail.
    struct Scripted(Config);

    impl Collector for Scripted {
        const NAME: &'static str = "scripted";
        const DESCRIPTION: &'static str = "Reports what its settings say.";
        type Config = Config;
        type Output = Output;

        fn new(config: Config) -> Result<Self, PluginError> {
            Ok(Self(config))
        }

        fn collect(&mut self) -> Result<Output, PluginError> {
            let number = |text: &str| {
                text.parse::<f64>()
                    .map_err(|e| PluginError::config(format_args!("{text}: {e}")))
            };
            let mut memory = Memory::from_total_available(100, 60);
            memory.percentage = number(&self.0.memory_percentage)?;
            memory.used = self.0.memory_used.unwrap_or(memory.used);
            Ok(Output {
                memory,
                weather: Weather {
                    humidity_percent: number(&self.0.humidity_percent)?,
                },
            })
        }
    }

    declare_collector!(Scripted);

    fn run(settings: &str) -> Result<Sections, String> {
        collector_compliance(Scripted::root_module(), settings)
    }

    #[test]
    fn a_sane_collector_passes_through_its_exported_module() {
        let sections = check_collector::<Scripted>();
        assert_eq!(sections["memory"]["total"], 100);
        assert_eq!(sections["weather"]["humidity_percent"], 5.0);
    }

    #[test]
    fn nan_fails_in_a_typed_section_and_a_free_form_one() {
        let err = run(r#"{"memory_percentage": "NaN"}"#).unwrap_err();
        assert!(err.contains("`memory`"), "{err}");
        let err = run(r#"{"humidity_percent": "NaN"}"#).unwrap_err();
        assert!(err.contains("weather.humidity_percent"), "{err}");
    }

    #[test]
    fn infinity_fails() {
        assert!(run(r#"{"memory_percentage": "inf"}"#).is_err());
        assert!(run(r#"{"humidity_percent": "-inf"}"#).is_err());
    }

    #[test]
    fn a_percentage_above_100_fails() {
        let err = run(r#"{"memory_percentage": "100.5"}"#).unwrap_err();
        assert!(err.contains("memory.percentage = 100.5"), "{err}");
        assert!(run(r#"{"humidity_percent": "101"}"#).is_err());
    }

    #[test]
    fn used_above_total_fails() {
        let err = run(r#"{"memory_used": 101}"#).unwrap_err();
        assert!(
            err.contains("memory.used = 101 exceeds memory.total = 100"),
            "{err}"
        );
    }
}
