//! A collector that panics on every call: the host must report it and keep running.

use monitoring_plugin_api::prelude::*;

/// No settings.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

/// Never produced.
#[derive(Serialize)]
pub struct Output {
    /// Never filled.
    pub panics: u8,
}

/// Panics when asked for data.
pub struct Panics;

impl Collector for Panics {
    const NAME: &'static str = "fixture-panics";
    const DESCRIPTION: &'static str = "Panics on every collect.";
    type Config = Config;
    type Output = Output;

    fn new(_: Config) -> Result<Self, PluginError> {
        Ok(Panics)
    }

    fn collect(&mut self) -> Result<Self::Output, PluginError> {
        panic!("fixture-panics always panics")
    }
}

declare_collector!(Panics);
