//! Reading one GPU through nvml-wrapper: what is read once at start (name, UUID), and
//! what is read each tick (memory, utilization, temperature, power).
//!
//! Every reading is independent: one the GPU does not support (`NotSupported`) or that
//! fails for any other reason becomes `None`, so a GPU without a power sensor still
//! reports its memory and temperature.

use nvml_wrapper::{enum_wrappers::device::TemperatureSensor, error::NvmlError, Device, Nvml};
use nvml_wrapper_sys::bindings::{nvmlMemory_t, nvmlReturn_enum_NVML_SUCCESS};

use monitoring_plugin_api::sections::{percentage, GpuInfo};

/// What does not change while the driver stays loaded, read once by [`read_static`].
#[derive(Debug, Clone, PartialEq)]
pub struct StaticInfo {
    /// NVML index.
    pub index: u32,
    /// Product name.
    pub name: Option<String>,
    /// `GPU-…` identifier.
    pub uuid: Option<String>,
}

/// Reads the slow-changing facts of GPU `index`.
pub fn read_static(nvml: &Nvml, index: u32) -> StaticInfo {
    let device = nvml.device_by_index(index).ok();
    StaticInfo {
        index,
        name: device.as_ref().and_then(|d| d.name().ok()),
        uuid: device.as_ref().and_then(|d| d.uuid().ok()),
    }
}

/// Takes one reading of a GPU. A GPU that cannot be reached at all (fallen off the
/// bus) keeps its entry, with every reading `null`.
pub fn read_dynamic(nvml: &Nvml, known: &StaticInfo, driver_version: Option<&str>) -> GpuInfo {
    let mut info = GpuInfo {
        id: known.index,
        name: known.name.clone(),
        uuid: known.uuid.clone(),
        driver_version: driver_version.map(str::to_owned),
        ..GpuInfo::default()
    };
    // Handles are cheap to look up (no ioctl) and borrowing `nvml` keeps this safe,
    // so they are not cached across ticks.
    let Ok(device) = nvml.device_by_index(known.index) else {
        return info;
    };
    if let Some(memory) = memory(nvml, &device) {
        info.memory_total = Some(memory.total);
        info.memory_used = Some(memory.used);
        info.memory_free = Some(memory.free);
        info.memory_percentage = percentage(Some(memory.used), Some(memory.total));
    }
    info.gpu_usage_percent = device.utilization_rates().ok().map(|u| f64::from(u.gpu));
    info.temperature = device
        .temperature(TemperatureSensor::Gpu)
        .ok()
        .map(f64::from);
    info.power_draw = device.power_usage().ok().map(milliwatts_to_watts);
    // Read each tick rather than cached: `nvidia-smi -pl` changes it at run time.
    info.power_limit = device
        .power_management_limit()
        .ok()
        .map(milliwatts_to_watts);
    info
}

/// Framebuffer memory in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Memory {
    total: u64,
    used: u64,
    free: u64,
}

/// Reads memory with `nvmlDeviceGetMemoryInfo_v2`, which nvml-wrapper calls, falling
/// back to the original `nvmlDeviceGetMemoryInfo` on drivers older than R510 that lack
/// the `_v2` symbol. (`_v2` counts driver-reserved memory apart from `used`.)
fn memory(nvml: &Nvml, device: &Device<'_>) -> Option<Memory> {
    match device.memory_info() {
        Ok(info) => Some(Memory {
            total: info.total,
            used: info.used,
            free: info.free,
        }),
        Err(NvmlError::FailedToLoadSymbol(_)) => memory_v1(nvml, device),
        Err(_) => None,
    }
}

fn memory_v1(nvml: &Nvml, device: &Device<'_>) -> Option<Memory> {
    let get = nvml.lib().nvmlDeviceGetMemoryInfo.as_ref().ok()?;
    let mut info = nvmlMemory_t {
        total: 0,
        free: 0,
        used: 0,
    };
    // SAFETY: the symbol was resolved from the loaded NVML library with this exact
    // signature (generated from nvml.h); the handle comes from the same, still
    // initialized, `Nvml`; `info` is a valid, writable `nvmlMemory_t`.
    let code = unsafe { get(device.handle(), &mut info) };
    (code == nvmlReturn_enum_NVML_SUCCESS).then_some(Memory {
        total: info.total,
        used: info.used,
        free: info.free,
    })
}

/// NVML reports power in mW; the section is in W.
fn milliwatts_to_watts(milliwatts: u32) -> f64 {
    f64::from(milliwatts) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_is_converted_to_watts() {
        assert_eq!(milliwatts_to_watts(220_500), 220.5);
        assert_eq!(milliwatts_to_watts(0), 0.0);
    }
}
