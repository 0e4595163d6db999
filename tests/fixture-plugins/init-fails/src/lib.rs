//! A collector whose init fails: the host must refuse it with the reason.

use monitoring_plugin_api::prelude::*;

/// No settings.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

/// Never built.
#[derive(Serialize)]
pub struct Output {
    /// Never filled.
    pub never: u8,
}

/// Fails in `new`.
pub struct InitFails;

impl Collector for InitFails {
    const NAME: &'static str = "fixture-init-fails";
    const DESCRIPTION: &'static str = "Its init always fails.";
    type Config = Config;
    type Output = Output;

    fn new(_: Config) -> Result<Self, PluginError> {
        Err(PluginError::fatal(
            "fixture init failure: device /dev/fixture0 missing",
        ))
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        Ok(Output { never: 0 })
    }
}

declare_collector!(InitFails);
