//! Collector plugin `gpu-nvml`: the snapshot's `gpu` section through NVIDIA's NVML.
//!
//! nvml-wrapper opens `libnvidia-ml.so.1` at run time, so this plugin builds and loads
//! on any machine; where no NVIDIA driver is installed, [`NvmlCollector::new`] returns
//! [`PluginError::unavailable`] and the host leaves the plugin out. This is the first
//! GPU backend of the seed's order (NVML, then `nvidia-smi` through `gpu-smi`, then
//! none); `gpu-smi` steps aside by itself whenever NVML starts.
//!
//! NVML is initialised once, in `new`, and kept for the plugin's life (initialising
//! resolves a few hundred symbols). Names, UUIDs and the driver version are read then
//! too; a tick is a handful of cheap NVML calls per GPU.

mod device;

use std::path::PathBuf;

use monitoring_plugin_api::prelude::*;
use nvml_wrapper::{error::NvmlError, Nvml};

pub use monitoring_plugin_api::sections::{Gpu, GpuInfo};

/// Settings of `[plugins.gpu-nvml]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The NVML library to open. Default: `libnvidia-ml.so.1` found by the dynamic
    /// loader's usual search. A path that does not exist is a configuration error.
    pub library_path: Option<PathBuf>,
}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `gpu` section.
    pub gpu: Gpu,
}

/// Holds the initialised NVML and what was learnt of each GPU at start.
pub struct NvmlCollector {
    nvml: Nvml,
    driver_version: Option<String>,
    gpus: Vec<device::StaticInfo>,
}

impl Collector for NvmlCollector {
    const NAME: &'static str = "gpu-nvml";
    const DESCRIPTION: &'static str =
        "NVIDIA GPUs through NVML: memory, utilization, temperature, power.";
    type Config = Config;
    type Output = Output;

    fn new(config: Config) -> Result<Self, PluginError> {
        let nvml = match &config.library_path {
            Some(path) if !path.exists() => {
                return Err(PluginError::config(format_args!(
                    "library_path {} does not exist",
                    path.display()
                )));
            }
            Some(path) => Nvml::builder().lib_path(path.as_os_str()).init(),
            None => Nvml::init(),
        }
        .map_err(|e| {
            PluginError::unavailable(format_args!("NVML cannot start: {}", describe(&e)))
        })?;
        let count = nvml.device_count().map_err(|e| {
            PluginError::unavailable(format_args!("NVML cannot count GPUs: {}", describe(&e)))
        })?;
        if count == 0 {
            return Err(PluginError::unavailable("NVML reports no GPU"));
        }
        Ok(Self {
            driver_version: nvml.sys_driver_version().ok(),
            gpus: (0..count)
                .map(|index| device::read_static(&nvml, index))
                .collect(),
            nvml,
        })
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        let gpus: Vec<GpuInfo> = self
            .gpus
            .iter()
            .map(|known| device::read_dynamic(&self.nvml, known, self.driver_version.as_deref()))
            .collect();
        Ok(Output {
            gpu: Gpu::new("nvml", gpus),
        })
    }
}

declare_collector!(NvmlCollector);

/// An NVML error with its causes (libloading's dlerror text is one), on one line.
fn describe(error: &NvmlError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = cause_of(source);
    }
    text.replace(['\n', '\r'], " ")
}

fn cause_of<'a>(
    error: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    error.and_then(std::error::Error::source)
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::ErrorKind;

    use super::*;

    fn build(json: &str) -> Result<NvmlCollector, PluginError> {
        let config: Config = serde_json::from_str(json).expect("valid settings");
        NvmlCollector::new(config)
    }

    #[test]
    fn settings_are_checked() {
        assert!(serde_json::from_str::<Config>("{}").is_ok());
        assert!(serde_json::from_str::<Config>(r#"{"libary_path": "/x"}"#).is_err());
        let err = build(r#"{"library_path": "/nonexistent/libnvidia-ml.so.1"}"#)
            .err()
            .expect("refused");
        assert_eq!(err.kind(), Some(ErrorKind::Config), "{err}");
        assert!(
            err.message().contains("/nonexistent/libnvidia-ml.so.1"),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_is_not_nvml_is_unavailable_with_a_one_line_reason() {
        // Cargo.toml exists but is no shared library: dlopen fails, as without a driver.
        let err = build(&format!(
            r#"{{"library_path": "{}/Cargo.toml"}}"#,
            env!("CARGO_MANIFEST_DIR")
        ))
        .err()
        .expect("refused");
        assert_eq!(err.kind(), Some(ErrorKind::Unavailable), "{err}");
        assert!(err.message().starts_with("NVML cannot start"), "{err}");
        assert!(!err.message().contains('\n'), "{err}");
    }

    #[test]
    fn without_a_driver_or_with_one_the_default_settings_behave() {
        // Machines without NVIDIA's driver (CI) get `unavailable`; machines with one get
        // a section that obeys the contract.
        match build("{}") {
            Err(err) => assert_eq!(err.kind(), Some(ErrorKind::Unavailable), "{err}"),
            Ok(_) => {
                let sections = monitoring_plugin_api::testing::check_collector::<NvmlCollector>();
                assert_eq!(sections["gpu"]["backend"], "nvml");
            }
        }
    }
}
