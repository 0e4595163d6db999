//! A collector that never returns from `collect`: the host must skip it without
//! delaying the others or calling it again while it hangs.

use monitoring_plugin_api::prelude::*;

/// No settings.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

/// Never produced.
#[derive(Serialize)]
pub struct Output {
    /// Never filled.
    pub hangs: u8,
}

/// Sleeps for an hour per call.
pub struct Hangs;

impl Collector for Hangs {
    const NAME: &'static str = "fixture-hangs";
    const DESCRIPTION: &'static str = "Its collect never returns.";
    type Config = Config;
    type Output = Output;

    fn new(_: Config) -> Result<Self, PluginError> {
        Ok(Hangs)
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        Ok(Output { hangs: 1 })
    }
}

declare_collector!(Hangs);
