//! The dependency rule of the crate's "Layout" doc, checked: every `crate::…` path in
//! a module's source names a module at the same layer or above it.

use std::path::{Path, PathBuf};

/// The layer of a top-level module: foundations 0, stages 1, pipeline 2, what extends
/// the pipeline (live changes, the fleet) 3, surfaces 4.
fn layer(module: &str) -> Option<u8> {
    match module {
        "allocator" | "config" | "shutdown" | "throttle" | "timestamp" => Some(0),
        "plugins" | "alerts" => Some(1),
        "pipeline" => Some(2),
        "live" => Some(3),
        "fleet" => Some(3),
        "surfaces" => Some(4),
        _ => None,
    }
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("host/src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a source file's code names as `crate::<module>` (comments,
/// which may point anywhere, are left out).
fn named_modules(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    code.match_indices("crate::")
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn no_module_imports_one_downstream_of_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under src");
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|name| name.trim_end_matches(".rs"))
            .unwrap_or_default();
        let Some(own) = layer(top) else {
            continue; // lib.rs, main.rs and this file wire everything together.
        };
        checked += 1;
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for named in named_modules(&text) {
            let Some(theirs) = layer(&named) else {
                continue;
            };
            let sideways = own == 1 && theirs == 1 && named != top;
            if theirs > own || sideways {
                violations.push(format!("{} names crate::{named}", relative.display()));
            }
        }
    }
    assert!(checked > 30, "only {checked} files were checked");
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn the_rule_sees_a_violation() {
    let text = "use crate::surfaces::state::ServerState;\n/// [`crate::pipeline`]\nlet _ = crate::config::Config;";
    assert_eq!(named_modules(text), ["surfaces", "config"]);
    assert!(layer("surfaces") > layer("pipeline"));
    assert!(layer("surfaces") > layer("fleet") && layer("fleet") > layer("pipeline"));
}
