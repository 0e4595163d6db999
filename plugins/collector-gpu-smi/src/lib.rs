//! Collector plugin `gpu-smi`: the snapshot's `gpu` section through the `nvidia-smi`
//! binary, the seed's fallback when NVML cannot be used directly.
//!
//! The seed tries NVML, then nvidia-smi, then gives up. Both backends write the same
//! section; which one serves it is the host's policy (`[providers] gpu = ["gpu-nvml",
//! "gpu-smi"]`, the default), so this plugin does not look at NVML at all. A tick runs one cheap CSV query (`--query-gpu=…`); names and the
//! driver version come from a second query, run at start and every
//! `static_refresh_secs`. With `xml = true` each tick parses the full `-q -x` report
//! instead. nvidia-smi runs under a deadline and is killed past it; its failures come
//! back as retryable errors for the host's back-off, never as retries here.

mod command;
mod csv;
mod value;
pub mod xml;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use monitoring_plugin_api::prelude::*;

use command::RunError;
pub use monitoring_plugin_api::sections::{Gpu, GpuInfo};

/// The soonest names are read again because a tick showed a GPU they lack.
const UNKNOWN_GPU_RECHECK: Duration = Duration::from_secs(5);

/// Settings of `[plugins.gpu-smi]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The nvidia-smi binary: a path, or a name looked up on `PATH`. Default `nvidia-smi`.
    pub binary: PathBuf,
    /// How long one run of nvidia-smi may take, in ms, before it is killed and the tick
    /// fails (retryably). Default 5000.
    pub timeout_ms: u64,
    /// How often names and the driver version are read again, in seconds. Default 60.
    pub static_refresh_secs: u64,
    /// Parse the full `nvidia-smi -q -x` report each tick instead of the CSV query:
    /// slower, for nvidia-smi builds whose `--query-gpu` output is unusable. Default false.
    pub xml: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            binary: PathBuf::from("nvidia-smi"),
            timeout_ms: 5000,
            static_refresh_secs: 60,
            xml: false,
        }
    }
}

/// What one collection returns.
#[derive(Debug, Serialize)]
pub struct Output {
    /// The `gpu` section.
    pub gpu: Gpu,
}

/// Runs nvidia-smi each tick; keeps the slow-changing facts between refreshes.
pub struct SmiCollector {
    binary: PathBuf,
    timeout: Duration,
    static_refresh: Duration,
    xml: bool,
    /// Names and driver versions, and when they were read.
    statics: Vec<csv::StaticRow>,
    statics_read: Instant,
}

impl Collector for SmiCollector {
    const NAME: &'static str = "gpu-smi";
    const DESCRIPTION: &'static str =
        "NVIDIA GPUs through nvidia-smi, when NVML cannot be used directly.";
    type Config = Config;
    type Output = Output;

    fn new(config: Config) -> Result<Self, PluginError> {
        if config.timeout_ms == 0 {
            return Err(PluginError::config("timeout_ms must be above 0"));
        }
        let binary = command::resolve(&config.binary).ok_or_else(|| {
            PluginError::unavailable(format_args!("{} not found", config.binary.display()))
        })?;
        let mut collector = Self {
            binary,
            timeout: Duration::from_millis(config.timeout_ms),
            static_refresh: Duration::from_secs(config.static_refresh_secs),
            xml: config.xml,
            statics: Vec::new(),
            statics_read: Instant::now(),
        };
        // One run now tells whether nvidia-smi can see a GPU at all: without a driver it
        // exits non-zero ("couldn't communicate with the NVIDIA driver").
        let found = if collector.xml {
            collector.read_xml().map(|gpus| gpus.len())
        } else {
            collector.read_statics().map(|()| collector.statics.len())
        }
        .map_err(|e| e.at_start(&collector.binary))?;
        if found == 0 {
            return Err(PluginError::unavailable("nvidia-smi reports no GPU"));
        }
        Ok(collector)
    }

    fn collect(&mut self) -> Result<Output, PluginError> {
        let gpus = if self.xml {
            self.read_xml()
        } else {
            self.read_csv()
        }
        .map_err(|e| e.at_tick(&self.binary))?;
        // An empty `gpu` section would reach clients without the seed's flat fields
        // (its published client indexes them); the seed sends no section at all.
        if gpus.is_empty() {
            return Err(PluginError::retryable("nvidia-smi listed no GPU this time"));
        }
        Ok(Output {
            gpu: Gpu::new("nvidia-smi", gpus),
        })
    }
}

declare_collector!(SmiCollector);

/// Why a reading failed, before the plugin's state decides how the host should treat it.
#[derive(Debug)]
enum ReadError {
    /// nvidia-smi did not run to success.
    Run(RunError),
    /// Its output was not what this parser knows; retrying will not help.
    Parse(String),
}

impl ReadError {
    /// At start, a binary that fails or cannot run means no usable GPU here.
    fn at_start(self, binary: &Path) -> PluginError {
        match self {
            ReadError::Run(e @ (RunError::Failed { .. } | RunError::Spawn(_))) => {
                PluginError::unavailable(format_args!("{}: {e}", binary.display()))
            }
            other => other.at_tick(binary),
        }
    }

    /// Once running, a failing nvidia-smi is transient (a driver reload, a busy GPU).
    fn at_tick(self, binary: &Path) -> PluginError {
        match self {
            ReadError::Run(e) => PluginError::retryable(format_args!("{}: {e}", binary.display())),
            ReadError::Parse(e) => PluginError::fatal(e),
        }
    }
}

impl SmiCollector {
    fn run(&self, args: &[&str]) -> Result<String, ReadError> {
        command::run(&self.binary, args, self.timeout).map_err(ReadError::Run)
    }

    fn read_statics(&mut self) -> Result<(), ReadError> {
        let query = format!("--query-gpu={}", csv::STATIC_FIELDS);
        let output = self.run(&[&query, "--format=csv,noheader"])?;
        self.statics = csv::parse_static(&output).map_err(ReadError::Parse)?;
        self.statics_read = Instant::now();
        Ok(())
    }

    fn read_csv(&mut self) -> Result<Vec<GpuInfo>, ReadError> {
        if self.statics_read.elapsed() >= self.static_refresh {
            self.read_statics()?;
        }
        let query = format!("--query-gpu={}", csv::TICK_FIELDS);
        let output = self.run(&[&query, "--format=csv,noheader,nounits"])?;
        let rows = csv::parse_tick(&output).map_err(ReadError::Parse)?;
        // A GPU not seen before (the driver was reloaded, a GPU came back): read names
        // now, but not every tick when the static query does not list it either.
        let unknown = rows.iter().any(|row| self.static_for(row).is_none());
        if unknown && self.statics_read.elapsed() >= UNKNOWN_GPU_RECHECK {
            self.read_statics()?;
        }
        Ok(rows.into_iter().map(|row| self.merge(row)).collect())
    }

    fn read_xml(&self) -> Result<Vec<GpuInfo>, ReadError> {
        let output = self.run(&["-q", "-x"])?;
        xml::parse(&output).map_err(ReadError::Parse)
    }

    /// The static facts of a tick's GPU: matched by UUID, by index when there is none.
    fn static_for(&self, row: &csv::TickRow) -> Option<&csv::StaticRow> {
        self.statics
            .iter()
            .find(|known| match (&row.uuid, &known.uuid) {
                (Some(uuid), Some(known_uuid)) => uuid == known_uuid,
                _ => row.index == known.index,
            })
    }

    fn merge(&self, row: csv::TickRow) -> GpuInfo {
        let known = self.static_for(&row);
        GpuInfo {
            id: row.index,
            name: known.and_then(|k| k.name.clone()),
            driver_version: known.and_then(|k| k.driver_version.clone()),
            memory_percentage: monitoring_plugin_api::sections::percentage(
                row.memory_used,
                row.memory_total,
            ),
            uuid: row.uuid,
            memory_total: row.memory_total,
            memory_used: row.memory_used,
            memory_free: row.memory_free,
            gpu_usage_percent: row.gpu_usage_percent,
            temperature: row.temperature,
            power_draw: row.power_draw,
            power_limit: row.power_limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::ErrorKind;

    use super::*;

    #[test]
    fn settings_have_documented_defaults_and_refuse_typos() {
        let config: Config = serde_json::from_str("{}").expect("defaults");
        assert_eq!(config.binary, PathBuf::from("nvidia-smi"));
        assert_eq!((config.timeout_ms, config.static_refresh_secs), (5000, 60));
        assert!(!config.xml);
        assert!(
            serde_json::from_str::<Config>(r#"{"force": true}"#).is_err(),
            "the host decides who serves `gpu`"
        );
        assert!(serde_json::from_str::<Config>(r#"{"timeout": 5}"#).is_err());
        let zero: Config = serde_json::from_str(r#"{"timeout_ms": 0}"#).expect("parses");
        let err = SmiCollector::new(zero).err().expect("refused");
        assert_eq!(err.kind(), Some(ErrorKind::Config), "{err}");
    }

    #[test]
    fn a_missing_binary_is_unavailable() {
        let config: Config =
            serde_json::from_str(r#"{"binary": "/nonexistent/nvidia-smi"}"#).expect("parses");
        let err = SmiCollector::new(config).err().expect("refused");
        assert_eq!(err.kind(), Some(ErrorKind::Unavailable), "{err}");
        assert_eq!(err.message(), "/nonexistent/nvidia-smi not found");
    }
}
