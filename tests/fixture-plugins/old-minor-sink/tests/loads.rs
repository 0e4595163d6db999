//! The old-minor sink's library, loaded in-process the way the host loads plugins,
//! through today's root-module type: the 1.0 layout passes abi_stable's checks and
//! `wants_snapshots()` answers `true` for the field it lacks.

use std::path::PathBuf;

use monitoring_plugin_api::abi_stable::library::lib_header_from_path;
use monitoring_plugin_api::PluginModRef;

/// This crate's cdylib, which cargo builds into target/<profile>/deps/ beside this
/// test before running it (it is copied up to target/<profile>/ only by some builds,
/// so a fresh `cargo test` finds it in deps/ alone).
fn library() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("target/<profile>/deps/<test>");
    let file = format!(
        "{}fixture_old_minor_sink{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    [deps.join(&file), deps.join("..").join(&file)]
        .into_iter()
        .find(|path| path.is_file())
        .unwrap_or_else(|| deps.join(file))
}

#[test]
fn a_1_0_sink_loads_with_todays_module_type_and_gets_snapshots() {
    let path = library();
    let module = lib_header_from_path(&path)
        .and_then(|header| header.init_root_module::<PluginModRef>())
        .unwrap_or_else(|e| panic!("{} must load: {e}", path.display()));
    let metadata = (module.metadata())();
    assert_eq!(metadata.name.as_str(), "old-minor-sink");
    assert_eq!(metadata.api_version.as_str(), "1.0.0");
    assert!(module.new_sink().is_some());
    assert!(
        module.wants_snapshots(),
        "a 1.0 sink has no wants_snapshots field and must keep getting snapshots"
    );
}
