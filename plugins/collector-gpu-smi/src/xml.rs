//! The XML report of `nvidia-smi -q -x`: every GPU's full state, parsed with roxmltree.
//!
//! The schema has moved across driver generations, so each reading is looked up in the
//! places the known versions put it, first value wins (see `POWER_DRAW`). Only direct
//! children are read: MIG devices nest their own `fb_memory_usage` inside a GPU, and
//! `module_power_readings` repeats the power names for the whole board.
//!
//! GPUs are numbered in the order of their `<gpu>` elements, which is nvidia-smi's
//! index order (the XML carries no index; `minor_number` is the device node's number).

use roxmltree::{Document, Node, ParsingOptions};

use crate::value::{mib_as_bytes, number, text};
use monitoring_plugin_api::sections::{percentage, GpuInfo};

/// Where each schema puts the power draw: v10–v12, then v13 (instant, then averaged).
const POWER_DRAW: [[&str; 2]; 5] = [
    ["gpu_power_readings", "power_draw"],
    ["gpu_power_readings", "instant_power_draw"],
    ["gpu_power_readings", "average_power_draw"],
    ["power_readings", "power_draw"],
    ["power_readings", "instant_power_draw"],
];

/// Where each schema puts the power limit in force.
const POWER_LIMIT: [[&str; 2]; 4] = [
    ["gpu_power_readings", "current_power_limit"],
    ["power_readings", "power_limit"],
    ["power_readings", "current_power_limit"],
    ["power_readings", "enforced_power_limit"],
];

/// Parses a report into one [`GpuInfo`] per `<gpu>`.
pub fn parse(xml: &str) -> Result<Vec<GpuInfo>, String> {
    // The report starts with a DOCTYPE naming an external DTD, which roxmltree refuses
    // unless allowed; it never fetches it.
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    let document = Document::parse_with_options(xml, options)
        .map_err(|e| format!("nvidia-smi's XML is malformed: {e}"))?;
    let root = document.root_element();
    if !root.has_tag_name("nvidia_smi_log") {
        return Err(format!(
            "nvidia-smi's XML has root <{}>, not <nvidia_smi_log>",
            root.tag_name().name()
        ));
    }
    let driver_version = value(root, &["driver_version"])
        .and_then(text)
        .map(str::to_owned);
    Ok(root
        .children()
        .filter(|node| node.has_tag_name("gpu"))
        .zip(0..)
        .map(|(gpu, id)| read_gpu(gpu, id, driver_version.clone()))
        .collect())
}

fn read_gpu(gpu: Node<'_, '_>, id: u32, driver_version: Option<String>) -> GpuInfo {
    let memory = |field| value(gpu, &["fb_memory_usage", field]).and_then(mib_as_bytes);
    let (memory_total, memory_used) = (memory("total"), memory("used"));
    let first_number = |places: &[[&str; 2]]| {
        places
            .iter()
            .find_map(|path| value(gpu, path).and_then(number))
    };
    GpuInfo {
        id,
        name: value(gpu, &["product_name"])
            .and_then(text)
            .map(str::to_owned),
        uuid: value(gpu, &["uuid"]).and_then(text).map(str::to_owned),
        driver_version,
        memory_total,
        memory_used,
        memory_free: memory("free"),
        memory_percentage: percentage(memory_used, memory_total),
        gpu_usage_percent: value(gpu, &["utilization", "gpu_util"]).and_then(number),
        temperature: value(gpu, &["temperature", "gpu_temp"]).and_then(number),
        power_draw: first_number(&POWER_DRAW),
        power_limit: first_number(&POWER_LIMIT),
    }
}

/// The text of the element at `path` below `node`, following direct children only.
fn value<'a>(node: Node<'a, '_>, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(node, |parent, name| {
            parent.children().find(|child| child.has_tag_name(*name))
        })
        .map(|element| element.text().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn fixture(name: &str) -> Vec<GpuInfo> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let xml =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn every_recorded_report_parses_and_obeys_the_contract() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("fixtures directory")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".xml"))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "a100-sxm4-v12.xml",
                "dual_2070-v13.xml",
                "gtx-1070-ti.xml",
                "rtx-3080-v13.xml",
                "tesla-t4.xml"
            ],
            "a new fixture needs its own value test below"
        );
        for name in &names {
            let gpus = fixture(name);
            assert!(!gpus.is_empty(), "{name}: no GPU");
            for gpu in &gpus {
                assert!(gpu.name.is_some() && gpu.uuid.is_some(), "{name}: {gpu:?}");
            }
            let section = monitoring_plugin_api::sections::Gpu::new("nvidia-smi", gpus);
            let sections = serde_json::json!({ "gpu": section });
            let sections = sections.as_object().expect("an object");
            monitoring_plugin_api::testing::check_sections(sections)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn two_rtx_2070_with_v13_power_readings() {
        let gpus = fixture("dual_2070-v13.xml");
        assert_eq!(gpus.len(), 2);
        let expected = |id, uuid: &str, temperature, power_draw| GpuInfo {
            id,
            name: Some("NVIDIA GeForce RTX 2070".into()),
            uuid: Some(uuid.into()),
            driver_version: Some("590.44.01".into()),
            memory_total: Some(8192 * MIB),
            memory_used: Some(MIB),
            memory_free: Some(7786 * MIB),
            memory_percentage: Some(0.0),
            gpu_usage_percent: Some(0.0),
            temperature: Some(temperature),
            // average_power_draw is N/A: the instant reading is taken.
            power_draw: Some(power_draw),
            power_limit: Some(175.0),
        };
        assert_eq!(
            gpus[0],
            expected(0, "GPU-12345678-aaaa-bbbb-cccc-0123456789ab", 14.0, 9.23)
        );
        assert_eq!(
            gpus[1],
            expected(1, "GPU-12345678-aaaa-bbbb-cccc-0123456789cd", 13.0, 11.82)
        );
    }

    #[test]
    fn a100_in_mig_mode_has_no_utilization_and_ignores_mig_memory() {
        let gpus = fixture("a100-sxm4-v12.xml");
        // attached_gpus says 4, but the recorded report was trimmed to one <gpu>.
        assert_eq!(gpus.len(), 1);
        assert_eq!(
            gpus[0],
            GpuInfo {
                id: 0,
                name: Some("NVIDIA A100-SXM4-80GB".into()),
                uuid: Some("GPU-513536b6-7d19-9063-b049-1e69664bb298".into()),
                driver_version: Some("535.54.03".into()),
                // The GPU's own fb_memory_usage, not a MIG device's 19968 MiB.
                memory_total: Some(81920 * MIB),
                memory_used: Some(50 * MIB),
                memory_free: Some(80999 * MIB),
                memory_percentage: Some(0.1),
                gpu_usage_percent: None,
                temperature: Some(27.0),
                // gpu_power_readings, not module_power_readings (N/A).
                power_draw: Some(67.03),
                power_limit: Some(500.0),
            }
        );
    }

    #[test]
    fn rtx_3080_prefers_the_instant_power_draw() {
        let gpu = &fixture("rtx-3080-v13.xml")[0];
        assert_eq!(gpu.name.as_deref(), Some("NVIDIA GeForce RTX 3080"));
        assert_eq!(
            gpu.uuid.as_deref(),
            Some("GPU-19d6d965-2acc-f646-00f8-4c76979aabb4")
        );
        assert_eq!(gpu.driver_version.as_deref(), Some("595.58.03"));
        assert_eq!(
            (gpu.memory_total, gpu.memory_used, gpu.memory_free),
            (Some(10240 * MIB), Some(9184 * MIB), Some(660 * MIB))
        );
        assert_eq!(gpu.memory_percentage, Some(89.7));
        assert_eq!(gpu.gpu_usage_percent, Some(65.0));
        assert_eq!(gpu.temperature, Some(27.0));
        assert_eq!(gpu.power_draw, Some(142.33));
        assert_eq!(gpu.power_limit, Some(320.0));
    }

    #[test]
    fn tesla_t4_with_the_older_power_readings() {
        let gpu = &fixture("tesla-t4.xml")[0];
        assert_eq!(gpu.name.as_deref(), Some("Tesla T4"));
        assert_eq!(
            gpu.uuid.as_deref(),
            Some("GPU-d37e67a5-91dd-3774-a5cb-99096249601a")
        );
        assert_eq!(gpu.driver_version.as_deref(), Some("515.105.01"));
        assert_eq!(
            (gpu.memory_total, gpu.memory_used, gpu.memory_free),
            (Some(15360 * MIB), Some(1032 * MIB), Some(13939 * MIB))
        );
        assert_eq!(gpu.memory_percentage, Some(6.7));
        assert_eq!(gpu.gpu_usage_percent, Some(0.0));
        assert_eq!(gpu.temperature, Some(40.0));
        assert_eq!(gpu.power_draw, Some(26.78));
        assert_eq!(gpu.power_limit, Some(70.0));
    }

    #[test]
    fn gtx_1070_ti_without_power_or_driver_version_gives_nulls() {
        assert_eq!(
            fixture("gtx-1070-ti.xml"),
            [GpuInfo {
                id: 0,
                name: Some("GeForce GTX 1070 Ti".into()),
                uuid: Some("GPU-f9ba66fc-a7f5-94c5-da19-019ef2f9c665".into()),
                driver_version: None,
                memory_total: Some(4096 * MIB),
                memory_used: Some(42 * MIB),
                memory_free: Some(4054 * MIB),
                memory_percentage: Some(1.0),
                gpu_usage_percent: Some(0.0),
                temperature: Some(39.0),
                power_draw: None,
                power_limit: None,
            }]
        );
    }

    #[test]
    fn malformed_and_foreign_xml_is_refused() {
        assert!(parse("<nvidia_smi_log><gpu>")
            .expect_err("must fail")
            .contains("malformed"));
        assert!(parse("<html/>").expect_err("must fail").contains("<html>"));
        assert_eq!(parse("<nvidia_smi_log/>"), Ok(vec![]));
    }
}
