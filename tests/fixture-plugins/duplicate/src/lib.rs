//! A collector that claims the real memory collector's name: the second library with a
//! name already loaded must be refused.

use monitoring_plugin_api::prelude::*;

/// No settings.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

/// A fake memory section.
#[derive(Serialize)]
pub struct Output {
    /// Fake.
    pub memory: u8,
}

/// An impostor.
pub struct Duplicate;

impl Collector for Duplicate {
    const NAME: &'static str = "memory";
    const DESCRIPTION: &'static str = "Claims an existing plugin's name.";
    type Config = Config;
    type Output = Output;

    fn new(_: Config) -> Result<Self, PluginError> {
        Ok(Duplicate)
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        Ok(Output { memory: 0 })
    }
}

declare_collector!(Duplicate);
