//! Finds plugin libraries in the plugins folder and loads them through the stable ABI.
//!
//! Each file is opened with `lib_header_from_path(..).init_root_module()`, never with
//! `RootModule::load_from_file`, which caches one module per root-module type and would
//! hand back the first plugin for every later file. A file that cannot be used is
//! refused with one line naming it and the reason; the full abi_stable report (often
//! hundreds of lines) goes to the debug log.
//!
//! Before a file is opened here it is opened in a child process ([`probe`]): a library
//! that crashes, aborts or hangs while loading is refused instead of ending the server.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError, RootModule};
use monitoring_plugin_api::{PluginKind, PluginModRef, API_VERSION};

use crate::plugins::probe::{self, Isolation};

/// A library that passed every check.
#[derive(Clone)]
pub struct LoadedLibrary {
    /// Where it was found.
    pub path: PathBuf,
    /// Its identity, copied out of the library.
    pub metadata: Metadata,
    /// Its root module, valid for the life of the process (libraries are never unloaded).
    pub module: PluginModRef,
}

/// A plugin's identity as plain Rust strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Unique name.
    pub name: String,
    /// Collector or sink.
    pub kind: PluginKind,
    /// The plugin's version.
    pub version: String,
    /// The plugin-api version it was built against.
    pub api_version: String,
    /// One line for humans.
    pub description: String,
}

/// A file that was not loaded, and why, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The file.
    pub path: PathBuf,
    /// Why, in one line.
    pub reason: String,
}

/// What a scan found.
#[derive(Default)]
pub struct Scan {
    /// Usable libraries, in file-name order.
    pub loaded: Vec<LoadedLibrary>,
    /// Files refused, in file-name order.
    pub refused: Vec<Refusal>,
}

/// Whether a file name looks like a dynamic library on any platform.
pub fn is_library(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("so" | "dll" | "dylib")
    )
}

/// Loads every library in `dir` that passed its probe under `isolation`. A missing
/// folder is an empty scan.
pub fn scan(dir: &Path, isolation: &Isolation) -> Scan {
    let mut scan = Scan::default();
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| is_library(p))
            .collect(),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "Cannot read the plugins folder; no plugins loaded.");
            return scan;
        }
    };
    paths.sort();
    let probes = match isolation {
        Isolation::ChildProcess { exe } => probe::probe_all(exe, &paths),
        Isolation::InProcessForTests => vec![Ok(()); paths.len()],
    };
    let mut names = BTreeSet::new();
    for (path, probed) in paths.into_iter().zip(probes) {
        match probed.and_then(|()| load(&path)) {
            Ok(library) if !names.insert(library.metadata.name.clone()) => {
                let reason = format!(
                    "a plugin named `{}` is already loaded",
                    library.metadata.name
                );
                scan.refused.push(Refusal { path, reason });
            }
            Ok(library) => scan.loaded.push(library),
            Err(reason) => scan.refused.push(Refusal { path, reason }),
        }
    }
    scan
}

/// Loads one library, or says in one line why not.
pub fn load(path: &Path) -> Result<LoadedLibrary, String> {
    let module = lib_header_from_path(path)
        .and_then(|header| header.init_root_module::<PluginModRef>())
        .map_err(|error| {
            tracing::debug!(path = %path.display(), report = %error, "Full loader report.");
            summarize(&error)
        })?;
    let raw = (module.metadata())();
    let kind = match raw.kind.as_enum() {
        Ok(kind) => *kind,
        Err(_) => return Err("it is a kind of plugin this server does not know".into()),
    };
    let metadata = Metadata {
        name: raw.name.as_str().to_owned(),
        kind,
        version: raw.version.as_str().to_owned(),
        api_version: raw.api_version.as_str().to_owned(),
        description: raw.description.as_str().to_owned(),
    };
    if metadata.name.is_empty() {
        return Err("it declares an empty plugin name".into());
    }
    let constructor_present = match kind {
        PluginKind::Collector => module.new_collector().is_some(),
        PluginKind::Sink => module.new_sink().is_some(),
        _ => false,
    };
    if !constructor_present {
        return Err(format!(
            "it declares itself a {kind:?} but exports no {kind:?} constructor"
        ));
    }
    Ok(LoadedLibrary {
        path: path.to_owned(),
        metadata,
        module,
    })
}

/// One line for each abi_stable failure, in the terms a plugin author acts on.
fn summarize(error: &LibraryError) -> String {
    match error {
        LibraryError::OpenError { err, .. } => format!("not a loadable library: {}", first_line(&err.to_string())),
        LibraryError::GetSymbolError { .. } => {
            "not a monitoring plugin: it exports no abi_stable root module (was it built with declare_collector!/declare_sink!?)"
                .into()
        }
        LibraryError::ParseVersionError(e) => format!("its plugin-api version is unreadable: {e}"),
        LibraryError::IncompatibleVersionNumber { actual_version, expected_version, .. } => format!(
            "built against plugin-api {actual_version}, but this server speaks plugin-api {expected_version} \
             (rebuild the plugin against plugin-api {API_VERSION})"
        ),
        LibraryError::AbiInstability(_) => format!(
            "its plugin-api types do not match this server's (ABI layout mismatch; rebuild it against plugin-api {API_VERSION}; \
             run with RUST_LOG=debug for the full report)"
        ),
        LibraryError::InvalidAbiHeader(header) => {
            format!("built with an incompatible abi_stable ({header:?}); this server uses abi_stable 0.11")
        }
        LibraryError::InvalidCAbi { .. } => "built by a compiler with a different C ABI".into(),
        LibraryError::RootModule { err, .. } => format!("its root module failed: {}", first_line(&err.to_string())),
        LibraryError::Many(errors) => errors.iter().map(summarize).collect::<Vec<_>>().join("; "),
    }
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
}

/// The root module name libraries must export, for messages.
pub fn root_module_name() -> &'static str {
    PluginModRef::NAME
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_library_extensions() {
        assert!(is_library(Path::new("plugins/libcollector_cpu.so")));
        assert!(is_library(Path::new("plugins/collector_cpu.dll")));
        assert!(is_library(Path::new("plugins/libcollector_cpu.dylib")));
        assert!(!is_library(Path::new("plugins/README.md")));
        assert!(!is_library(Path::new("plugins/collector-cpu")));
    }

    #[test]
    fn a_junk_file_is_refused_in_one_line_naming_why() {
        let dir = std::env::temp_dir().join(format!("loader-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let junk = dir.join("libjunk.so");
        std::fs::write(&junk, b"this is not a library").expect("write junk");
        let scan = scan(&dir, &Isolation::InProcessForTests);
        assert!(scan.loaded.is_empty());
        assert_eq!(scan.refused.len(), 1);
        assert_eq!(scan.refused[0].path, junk);
        assert!(
            scan.refused[0].reason.starts_with("not a loadable library"),
            "{}",
            scan.refused[0].reason
        );
        assert!(!scan.refused[0].reason.contains('\n'));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_folder_is_an_empty_scan() {
        let scan = scan(
            Path::new("/no/such/plugins/folder"),
            &Isolation::InProcessForTests,
        );
        assert!(scan.loaded.is_empty() && scan.refused.is_empty());
    }
}
