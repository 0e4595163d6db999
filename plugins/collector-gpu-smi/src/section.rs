//! The `gpu` section as it goes on the wire: the seed's field names and units, plus
//! `backend`, `uuid` and `memory_percentage`. `collector-gpu-nvml` writes the same shape
//! (its own copy of these types: the two plugins are separate libraries and share no
//! code but the plugin API); a test in each crate pins the field names.
//!
//! A reading the GPU does not give is `None`, serialized as JSON `null`: a client must
//! be able to tell "not supported" from a real zero.

use serde::Serialize;

/// The `gpu` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuSection {
    /// Number of GPUs listed in `gpus`.
    pub count: usize,
    /// Which backend produced the readings: `"nvidia-smi"` here.
    pub backend: &'static str,
    /// One entry per GPU, in nvidia-smi index order.
    pub gpus: Vec<GpuInfo>,
}

/// One GPU. Every reading is optional: `null` when the GPU or driver does not give it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GpuInfo {
    /// NVML index, as `nvidia-smi` numbers GPUs.
    pub id: u32,
    /// Product name, e.g. `NVIDIA GeForce RTX 3080`.
    pub name: Option<String>,
    /// Stable identifier, `GPU-…`.
    pub uuid: Option<String>,
    /// Driver version, the same for every GPU of a machine.
    pub driver_version: Option<String>,
    /// Framebuffer memory, bytes.
    pub memory_total: Option<u64>,
    /// Allocated framebuffer memory, bytes.
    pub memory_used: Option<u64>,
    /// Unallocated framebuffer memory, bytes.
    pub memory_free: Option<u64>,
    /// `memory_used` / `memory_total`, %, one decimal.
    pub memory_percentage: Option<f64>,
    /// GPU utilization over the driver's last sample period, %.
    pub gpu_usage_percent: Option<f64>,
    /// Core temperature, °C.
    pub temperature: Option<f64>,
    /// Current power draw, W.
    pub power_draw: Option<f64>,
    /// Power limit in force, W.
    pub power_limit: Option<f64>,
}

/// `used / total` in %, one decimal; `None` when either is unknown or total is 0.
pub fn percentage(used: Option<u64>, total: Option<u64>) -> Option<f64> {
    let (used, total) = (used?, total?);
    if total == 0 {
        return None;
    }
    let percent = used as f64 * 100.0 / total as f64;
    Some(((percent * 10.0).round() / 10.0).clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentage_rounds_and_refuses_unknowns() {
        assert_eq!(percentage(Some(1), Some(3)), Some(33.3));
        assert_eq!(percentage(Some(5), Some(5)), Some(100.0));
        assert_eq!(percentage(Some(0), Some(0)), None);
        assert_eq!(percentage(None, Some(8)), None);
        assert_eq!(percentage(Some(8), None), None);
    }

    /// The same list is pinned in collector-gpu-nvml: both backends must agree.
    #[test]
    fn field_names_are_the_wire_contract() {
        let value = serde_json::to_value(GpuInfo::default()).expect("serializes");
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "driver_version",
                "gpu_usage_percent",
                "id",
                "memory_free",
                "memory_percentage",
                "memory_total",
                "memory_used",
                "name",
                "power_draw",
                "power_limit",
                "temperature",
                "uuid"
            ]
        );
        assert!(
            value["power_draw"].is_null(),
            "absent readings are null, not zero"
        );
    }
}
