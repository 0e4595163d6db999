//! The `gpu` section as it goes on the wire, shared by both GPU backends
//! (`collector-gpu-nvml` and `collector-gpu-smi`) so that they cannot drift apart.
//!
//! # The shape, and why it is a superset
//!
//! ```json
//! {"count": 2, "backend": "nvml", "gpus": [{…GPU 0…}, {…GPU 1…}],
//!  "id": 0, "name": "…", "uuid": "…", "driver_version": "…", "memory_total": …,
//!  "memory_used": …, "memory_free": …, "memory_percentage": …,
//!  "gpu_usage_percent": …, "temperature": …, "power_draw": …, "power_limit": …}
//! ```
//!
//! Two contracts meet here. The seed README's "Message Format" documents
//! `{count, gpus: […]}`, which is what multi-GPU clients and the alert engine's
//! `gpu.gpus[*].…` paths read. The published seed server, however, sends the *first*
//! GPU's fields flat in `gpu` (`services/websocket_server.py`), and the published
//! client indexes `gpu['gpu_usage_percent']` and `gpu['memory_percentage']` directly,
//! failing with `KeyError` on anything else. So the section carries both: `count`,
//! `backend` and `gpus`, plus every field of `gpus[0]` repeated at the top level. The
//! names do not collide, and the cost is one GPU's fields per snapshot.
//!
//! A reading a GPU does not give is `None`, serialized as JSON `null` (in `gpus` and in
//! the flat copy alike): a client must be able to tell "not supported" from a real zero.

use serde::{Deserialize, Serialize};

use super::{check_finite, check_percent, check_used, Section};

/// The `gpu` section. `count` and the flat first-GPU fields are derived from `gpus` when
/// serializing, so they always agree with it; reading the section back takes `backend`
/// and `gpus` and checks `count` against them.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpu {
    /// Which backend produced the readings: `"nvml"` or `"nvidia-smi"`.
    pub backend: String,
    /// One entry per GPU, in NVML index order (which is also nvidia-smi's).
    pub gpus: Vec<GpuInfo>,
}

impl Gpu {
    /// A section of `gpus` read through `backend`.
    pub fn new(backend: impl Into<String>, gpus: Vec<GpuInfo>) -> Self {
        Self {
            backend: backend.into(),
            gpus,
        }
    }

    /// Number of GPUs, as `count` on the wire.
    pub fn count(&self) -> usize {
        self.gpus.len()
    }
}

impl Serialize for Gpu {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The wire form: the README's fields, then the seed's flat copy of GPU 0.
        #[derive(Serialize)]
        struct Wire<'a> {
            count: usize,
            backend: &'a str,
            gpus: &'a [GpuInfo],
            /// Absent (no flat fields at all) when there is no GPU.
            #[serde(flatten)]
            first: Option<&'a GpuInfo>,
        }
        Wire {
            count: self.count(),
            backend: &self.backend,
            gpus: &self.gpus,
            first: self.gpus.first(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Gpu {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The wire form; the flat copy of GPU 0 is redundant and left unread.
        #[derive(Deserialize)]
        struct Wire {
            count: usize,
            backend: String,
            gpus: Vec<GpuInfo>,
        }
        let wire = Wire::deserialize(deserializer)?;
        if wire.count != wire.gpus.len() {
            return Err(serde::de::Error::custom(format_args!(
                "count is {} but gpus lists {}",
                wire.count,
                wire.gpus.len()
            )));
        }
        Ok(Self::new(wire.backend, wire.gpus))
    }
}

impl Section for Gpu {
    const NAME: &'static str = "gpu";

    fn validate(&self) -> Result<(), String> {
        for (i, gpu) in self.gpus.iter().enumerate() {
            let path = format!("gpu.gpus[{i}]");
            let percents = [
                ("memory_percentage", gpu.memory_percentage),
                ("gpu_usage_percent", gpu.gpu_usage_percent),
            ];
            for (name, value) in percents {
                if let Some(value) = value {
                    check_percent(&format!("{path}.{name}"), value)?;
                }
            }
            let readings = [
                ("temperature", gpu.temperature),
                ("power_draw", gpu.power_draw),
                ("power_limit", gpu.power_limit),
            ];
            for (name, value) in readings {
                if let Some(value) = value {
                    check_finite(&format!("{path}.{name}"), value)?;
                }
            }
            if let (Some(used), Some(total)) = (gpu.memory_used, gpu.memory_total) {
                check_used(&format!("{path}.memory"), used, total)?;
            }
        }
        Ok(())
    }
}

/// One GPU. Every reading is optional: `null` when the GPU or driver does not give it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    // A driver may report more used than total for a moment; a percentage stays ≤ 100.
    super::percent_of(used?, total?).map(|percent| percent.clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// The seed's per-GPU fields plus `id` and `uuid`, sorted.
    const GPU_FIELDS: [&str; 12] = [
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
        "uuid",
    ];

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    fn gpu(id: u32, temperature: f64, power_draw: Option<f64>) -> GpuInfo {
        GpuInfo {
            id,
            name: Some(format!("GPU {id}")),
            uuid: Some(format!("GPU-{id}")),
            driver_version: Some("550.54.15".into()),
            memory_total: Some(8),
            memory_used: Some(2),
            memory_free: Some(6),
            memory_percentage: percentage(Some(2), Some(8)),
            gpu_usage_percent: Some(45.0),
            temperature: Some(temperature),
            power_draw,
            power_limit: power_draw.map(|_| 350.0),
        }
    }

    #[test]
    fn percentage_rounds_and_refuses_unknowns() {
        assert_eq!(percentage(Some(1), Some(3)), Some(33.3));
        assert_eq!(percentage(Some(5), Some(5)), Some(100.0));
        assert_eq!(percentage(Some(0), Some(0)), None);
        assert_eq!(percentage(None, Some(8)), None);
        assert_eq!(percentage(Some(8), None), None);
    }

    #[test]
    fn gpu_field_names_are_the_wire_contract() {
        let value = serde_json::to_value(GpuInfo::default()).expect("serializes");
        assert_eq!(keys(&value), GPU_FIELDS);
        assert!(
            value["power_draw"].is_null(),
            "absent readings are null, not zero"
        );
    }

    #[test]
    fn the_section_lists_every_gpu_and_flattens_the_first() {
        let first = gpu(0, 65.0, Some(220.5));
        let second = gpu(1, 71.0, None);
        let section = Gpu::new("nvml", vec![first.clone(), second.clone()]);
        assert_eq!(section.count(), 2);
        let value = serde_json::to_value(&section).expect("serializes");

        let mut expected_keys = vec!["backend", "count", "gpus"];
        expected_keys.extend(GPU_FIELDS);
        expected_keys.sort_unstable();
        assert_eq!(keys(&value), expected_keys);

        assert_eq!(value["count"], 2);
        assert_eq!(value["backend"], "nvml");
        let first = serde_json::to_value(&first).expect("serializes");
        let second = serde_json::to_value(&second).expect("serializes");
        assert_eq!(value["gpus"], json!([first, second]));
        // What the published client reads, straight from GPU 0.
        for field in GPU_FIELDS {
            assert_eq!(value[field], first[field], "{field}");
        }
        assert_eq!(value["gpu_usage_percent"], 45.0);
        assert_eq!(value["memory_percentage"], 25.0);
        assert_eq!(value["temperature"], 65.0);
    }

    #[test]
    fn unsupported_readings_of_the_first_gpu_stay_null_when_flattened() {
        let section = Gpu::new("nvidia-smi", vec![gpu(0, 39.0, None)]);
        let value = serde_json::to_value(&section).expect("serializes");
        assert_eq!(value["count"], 1);
        let flat = value.as_object().expect("an object");
        assert_eq!(flat.get("power_draw"), Some(&Value::Null));
        assert_eq!(flat.get("power_limit"), Some(&Value::Null));
    }

    #[test]
    fn without_a_gpu_there_is_nothing_to_flatten() {
        let value = serde_json::to_value(Gpu::new("nvml", vec![])).expect("serializes");
        assert_eq!(value, json!({"count": 0, "backend": "nvml", "gpus": []}));
    }
}

#[cfg(test)]
mod wire_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_section_reads_back_from_its_wire_form() {
        let section = Gpu::new(
            "nvml",
            vec![GpuInfo {
                id: 0,
                temperature: Some(60.0),
                ..GpuInfo::default()
            }],
        );
        let value = serde_json::to_value(&section).unwrap_or_default();
        let back: Gpu = serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, section);
        let lying = json!({"count": 2, "backend": "nvml", "gpus": []});
        assert!(serde_json::from_value::<Gpu>(lying).is_err());
    }

    #[test]
    fn validation_refuses_impossible_readings() {
        let gpu = |info: GpuInfo| Gpu::new("nvml", vec![info]).validate();
        assert_eq!(gpu(GpuInfo::default()), Ok(()));
        let over = GpuInfo {
            gpu_usage_percent: Some(101.0),
            ..GpuInfo::default()
        };
        assert!(gpu(over).is_err_and(|e| e.contains("gpu.gpus[0].gpu_usage_percent")));
        let used = GpuInfo {
            memory_used: Some(9),
            memory_total: Some(8),
            ..GpuInfo::default()
        };
        assert!(gpu(used).is_err());
    }
}
