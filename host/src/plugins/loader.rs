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
//! The probe also tells the plugin's identity, so a library is mapped into the server
//! only when its plugin is to run ([`Loader::map`]): a disabled plugin costs the server
//! no memory (a dozen shipped plugins mapped and idle were 12 MB of its 27 MB).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError, RootModule};
use monitoring_plugin_api::{PluginModRef, API_VERSION};

use crate::plugins::identity::{Kind, Metadata};
use crate::plugins::probe::{self, Isolation};
use crate::plugins::staging::{Staged, Staging};

/// A library that passed every check.
#[derive(Clone)]
pub struct LoadedLibrary {
    /// Where it was found.
    pub path: PathBuf,
    /// Its identity, copied out of the library.
    pub metadata: Metadata,
    /// Its root module once the library is mapped into this process ([`Loader::map`]),
    /// valid for the life of the process (libraries are never unloaded); `None` while
    /// it has only been probed.
    pub module: Option<PluginModRef>,
    /// SHA-256 of the file's bytes when it was loaded: a new hash is a new version.
    pub hash: String,
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
    /// Usable libraries, one per plugin name, in file-name order.
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

/// What became of one library content, by hash: loaded once, never again.
#[derive(Clone)]
enum Known {
    /// Probed in a child, not mapped here (yet).
    Probed(Metadata),
    /// Mapped into this process.
    Loaded {
        metadata: Metadata,
        module: PluginModRef,
    },
    Refused(String),
}

/// Scans the plugins folder, as often as asked, loading each distinct library
/// content once: from a private copy ([`Staging`]) after a probe under
/// `isolation`. Unchanged files are not read again; a file whose bytes changed is a
/// new library.
pub struct Loader {
    isolation: Isolation,
    staging: Staging,
    known: HashMap<String, Known>,
}

impl Loader {
    /// A loader with its private folder.
    pub fn new(isolation: Isolation) -> std::io::Result<Self> {
        Ok(Self {
            isolation,
            staging: Staging::new()?,
            known: HashMap::new(),
        })
    }

    /// Every library in `dir` that passed its probe, one per plugin name (see
    /// [`resolve_duplicates`]). A missing folder is an empty scan.
    pub fn scan(&mut self, dir: &Path) -> Scan {
        let paths = match list(dir) {
            Ok(paths) => paths,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "Cannot read the plugins folder; no plugins loaded.");
                return Scan::default();
            }
        };
        // Read and copy what is new; probe the new copies together, in batches that
        // keep the staging folder under its cap.
        let mut hashes: Vec<Result<String, String>> = Vec::with_capacity(paths.len());
        let mut batch: Vec<(String, Staged)> = Vec::new();
        for path in &paths {
            if let Some(hash) = self.staging.unchanged_hash(path) {
                if self.known.contains_key(&hash) {
                    hashes.push(Ok(hash));
                    continue;
                }
            }
            let len = std::fs::metadata(path).map_or(0, |m| m.len());
            if !batch.is_empty() && !self.staging.has_room_for(len) {
                self.probe_batch(std::mem::take(&mut batch));
            }
            let staged = self.staging.stage(path, true).map(|staged| {
                let hash = staged.hash.clone();
                if self.known.contains_key(&hash) || batch.iter().any(|(h, _)| *h == hash) {
                    self.staging.release(&staged);
                } else {
                    batch.push((hash.clone(), staged));
                }
                hash
            });
            hashes.push(staged);
        }
        self.probe_batch(batch);
        let mut scan = Scan::default();
        for (path, hash) in paths.into_iter().zip(hashes) {
            let known = hash.and_then(|hash| match self.known.get(&hash) {
                Some(Known::Loaded { metadata, module }) => Ok(LoadedLibrary {
                    path: path.clone(),
                    metadata: metadata.clone(),
                    module: Some(*module),
                    hash,
                }),
                Some(Known::Probed(metadata)) => Ok(LoadedLibrary {
                    path: path.clone(),
                    metadata: metadata.clone(),
                    module: None,
                    hash,
                }),
                Some(Known::Refused(reason)) => Err(reason.clone()),
                None => Err("its probe did not report".into()),
            });
            match known {
                Ok(library) => scan.loaded.push(library),
                Err(reason) => scan.refused.push(Refusal { path, reason }),
            }
        }
        resolve_duplicates(&mut scan);
        scan
    }

    /// Probes staged copies together, records what each content is, and deletes the
    /// copies.
    fn probe_batch(&mut self, batch: Vec<(String, Staged)>) {
        if batch.is_empty() {
            return;
        }
        let copies: Vec<PathBuf> = batch.iter().map(|(_, s)| s.copy.clone()).collect();
        let probes: Vec<Result<Known, String>> = match &self.isolation {
            Isolation::ChildProcess { exe } => probe::probe_all(exe, &copies)
                .into_iter()
                .map(|probed| probed.map(Known::Probed))
                .collect(),
            Isolation::InProcess => copies
                .iter()
                .map(|copy| {
                    load(copy).map(|library| match library.module {
                        Some(module) => Known::Loaded {
                            metadata: library.metadata,
                            module,
                        },
                        None => Known::Probed(library.metadata),
                    })
                })
                .collect(),
        };
        for ((hash, staged), probed) in batch.into_iter().zip(probes) {
            self.staging.release(&staged);
            self.known
                .insert(hash, probed.unwrap_or_else(Known::Refused));
        }
    }

    /// Maps `library` into this process if it is not yet: its file is read again and
    /// opened from a private copy, if its bytes are still those its probe passed.
    /// `Err` is the one-line reason it cannot run.
    pub fn map(&mut self, library: &mut LoadedLibrary) -> Result<PluginModRef, String> {
        if let Some(module) = library.module {
            return Ok(module);
        }
        match self.known.get(&library.hash) {
            Some(Known::Loaded { module, .. }) => {
                library.module = Some(*module);
                return Ok(*module);
            }
            Some(Known::Probed(_)) => {}
            Some(Known::Refused(reason)) => return Err(reason.clone()),
            None => return Err("its probe did not report".into()),
        }
        let staged = self.staging.stage(&library.path, true)?;
        if staged.hash != library.hash {
            self.staging.release(&staged);
            return Err("its file changed after it was probed; the next scan takes it up".into());
        }
        let loaded = load(&staged.copy);
        self.staging.release(&staged);
        let module = loaded?.module.ok_or("it did not load")?;
        self.known.insert(
            library.hash.clone(),
            Known::Loaded {
                metadata: library.metadata.clone(),
                module,
            },
        );
        library.module = Some(module);
        Ok(module)
    }

    /// Libraries loaded into this process so far (each distinct content once). Their
    /// code stays mapped until exit: abi_stable never unloads a library.
    pub fn libraries_mapped(&self) -> usize {
        self.known
            .values()
            .filter(|k| matches!(k, Known::Loaded { .. }))
            .count()
    }
}

/// The library files in `dir`, sorted by name.
fn list(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| is_library(p))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Keeps one library per plugin name, the same one every time whatever the files are
/// called: the highest version, and among equal versions the first file by name.
/// The others are refused naming the file that kept the name.
pub fn resolve_duplicates(scan: &mut Scan) {
    let mut winners: BTreeMap<String, usize> = BTreeMap::new();
    for (i, library) in scan.loaded.iter().enumerate() {
        let name = library.metadata.name.clone();
        match winners.get(&name) {
            Some(&best)
                if version_key(&library.metadata.version)
                    > version_key(&scan.loaded[best].metadata.version) =>
            {
                winners.insert(name, i);
            }
            Some(_) => {}
            None => {
                winners.insert(name, i);
            }
        }
    }
    let keep: BTreeSet<usize> = winners.values().copied().collect();
    let kept_by: BTreeMap<String, String> = winners
        .iter()
        .map(|(name, &i)| {
            let winner = &scan.loaded[i];
            let text = format!(
                "{} (version {})",
                winner.path.display(),
                winner.metadata.version
            );
            (name.clone(), text)
        })
        .collect();
    let mut loaded = Vec::with_capacity(keep.len());
    for (i, library) in std::mem::take(&mut scan.loaded).into_iter().enumerate() {
        if keep.contains(&i) {
            loaded.push(library);
            continue;
        }
        let winner = kept_by
            .get(&library.metadata.name)
            .map_or_else(String::new, |w| format!(" by {w}"));
        scan.refused.push(Refusal {
            path: library.path,
            reason: format!(
                "a plugin named `{}` (version {}) is already provided{winner}",
                library.metadata.name, library.metadata.version
            ),
        });
    }
    scan.loaded = loaded;
    scan.refused.sort_by(|a, b| a.path.cmp(&b.path));
}

/// A version's numeric parts for comparison (`1.10.0` > `1.9.2`); text parts count 0.
fn version_key(version: &str) -> Vec<u64> {
    version
        .split(['.', '-', '+'])
        .map(|part| part.parse().unwrap_or(0))
        .collect()
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
    let kind = match raw.kind.as_enum().map(|kind| Kind::from(*kind)) {
        Ok(kind @ (Kind::Collector | Kind::Sink)) => kind,
        _ => return Err("it is a kind of plugin this server does not know".into()),
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
        Kind::Collector => module.new_collector().is_some(),
        Kind::Sink => module.new_sink().is_some(),
        Kind::Unknown => false,
    };
    if !constructor_present {
        return Err(format!(
            "it declares itself a {kind:?} but exports no {kind:?} constructor"
        ));
    }
    Ok(LoadedLibrary {
        path: path.to_owned(),
        metadata,
        module: Some(module),
        hash: String::new(),
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
        let scan = Loader::new(Isolation::InProcess)
            .expect("loader")
            .scan(&dir);
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
        let scan = Loader::new(Isolation::InProcess)
            .expect("loader")
            .scan(Path::new("/no/such/plugins/folder"));
        assert!(scan.loaded.is_empty() && scan.refused.is_empty());
    }
}
