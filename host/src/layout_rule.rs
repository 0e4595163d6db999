//! The dependency rules of the crate's "Layout" doc, checked on the source text:
//!
//! 1. every `crate::…` path in a top-level room names a room at the same layer or above
//!    it, and the two stages do not know each other;
//! 2. no file imports another that (through any chain) imports it back: the graph of
//!    which module names which, down to sub-modules, has no circle.
//!
//! A path counts wherever code names it: `use` lists (with their `{…}` groups),
//! qualified calls, `super::` and `self::` paths and paths that start at a child module.
//! Comments and `#[cfg(test)]` items, which may point anywhere, are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer of a top-level module: foundations 0, stages 1, pipeline 2, what extends
/// the pipeline (live changes, the fleet) 3, the accept path 4, surfaces 5, the
/// operator's commands (which load what a start loads, then stop) 6.
fn layer(module: &str) -> Option<u8> {
    match module {
        "allocator" | "config" | "priority" | "shutdown" | "throttle" | "timestamp" => Some(0),
        "plugins" | "alerts" | "store" => Some(1),
        "pipeline" => Some(2),
        "live" => Some(3),
        "fleet" => Some(3),
        "accept" => Some(4),
        "surfaces" => Some(5),
        "operator" => Some(6),
        _ => None,
    }
}

/// A module's path from the crate root: `surfaces/ws/session.rs` is
/// `["surfaces", "ws", "session"]`, `surfaces/ws/mod.rs` is `["surfaces", "ws"]`.
type ModulePath = Vec<String>;

/// One source file: its module and its code with comments and test items removed.
struct Source {
    module: ModulePath,
    code: String,
}

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("host/src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate's modules, except the root files that wire everything together (`lib.rs`,
/// `main.rs`, this file) and test-only files (`tests.rs`).
fn crate_sources(root: &Path) -> Vec<Source> {
    let mut paths = Vec::new();
    files(root, &mut paths);
    let mut sources = Vec::new();
    for path in paths {
        let relative = path.strip_prefix(root).expect("under src");
        let mut module: ModulePath = relative
            .with_extension("")
            .components()
            .filter_map(|c| c.as_os_str().to_str().map(str::to_owned))
            .collect();
        if module.last().is_some_and(|last| last == "mod") {
            module.pop();
        }
        let skipped = matches!(
            module.as_slice(),
            [only] if only == "lib" || only == "main" || only == "layout_rule"
        ) || module.last().is_some_and(|last| last == "tests");
        if skipped {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable source file");
        sources.push(Source {
            module,
            code: code_only(&text),
        });
    }
    sources
}

/// The text without comments and without `#[cfg(test)]` items (a test module may use
/// anything; it is not part of the shipped graph).
fn code_only(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed == "#[cfg(test)]" {
            skip_item(&mut lines);
            continue;
        }
        let code = match line.find(" //") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Skips the item after a `#[cfg(test)]`: one line ending in `;`, or a block up to its
/// closing brace.
fn skip_item<'a>(lines: &mut impl Iterator<Item = &'a str>) {
    let mut depth = 0i64;
    let mut opened = false;
    for line in lines {
        let trimmed = line.trim();
        if !opened && trimmed.ends_with(';') && !trimmed.contains('{') {
            return;
        }
        depth += trimmed.matches('{').count() as i64 - trimmed.matches('}').count() as i64;
        opened |= trimmed.contains('{');
        if opened && depth <= 0 {
            return;
        }
    }
}

/// Whether `c` may be part of an identifier.
fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths `code` names that start with `crate`, `super`, `self` or one of
/// `children`, each as its segments (`{…}` groups expanded into one path per item).
fn named_paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let c = code[at..]
            .chars()
            .next()
            .expect("a char at a char boundary");
        let boundary = at == 0 || {
            let before = code[..at].chars().next_back().unwrap_or(' ');
            !ident_char(before) && !code[..at].ends_with("::")
        };
        if boundary && ident_char(c) {
            let end = code[at..]
                .find(|ch: char| !ident_char(ch))
                .map_or(code.len(), |n| at + n);
            let word = &code[at..end];
            let starts_path = matches!(word, "crate" | "super" | "self") || children.contains(word);
            if starts_path && code[end..].starts_with("::") {
                let (paths, _) = parse_path(code, at);
                found.extend(paths);
            }
            at = end;
        } else {
            at += c.len_utf8();
        }
    }
    found
}

/// Parses the path that starts at `at` (segments joined by `::`, possibly ending in a
/// `{…}` group or `*`); returns its expansions and where it ended.
fn parse_path(code: &str, mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut segments = Vec::new();
    loop {
        let rest = &code[at..];
        let skipped = rest.len() - rest.trim_start().len();
        at += skipped;
        let rest = &code[at..];
        if rest.starts_with('{') {
            let (items, end) = parse_group(code, at + 1);
            let paths = items
                .into_iter()
                .map(|item| {
                    let mut path = segments.clone();
                    path.extend(item.into_iter().filter(|s| s != "self"));
                    path
                })
                .collect();
            return (paths, end);
        }
        let len = rest.find(|ch: char| !ident_char(ch)).unwrap_or(rest.len());
        if len == 0 {
            return (vec![segments], at);
        }
        segments.push(rest[..len].to_owned());
        at += len;
        if code[at..].starts_with("::") {
            at += 2;
        } else {
            return (vec![segments], at);
        }
    }
}

/// Parses a `{…}` group's items from just after its `{`; returns them and the position
/// after the closing `}`.
fn parse_group(code: &str, mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut items = Vec::new();
    loop {
        let rest = &code[at..];
        at += rest.len() - rest.trim_start().len();
        match code[at..].chars().next() {
            None => return (items, at),
            Some('}') => return (items, at + 1),
            Some(',') => at += 1,
            Some('*') => at += 1,
            Some(_) => {
                let (paths, end) = parse_path(code, at);
                items.extend(paths);
                // Skip an `as alias` and anything else up to the next `,` or `}`.
                let tail = &code[end..];
                let stop = tail.find([',', '}']).unwrap_or(tail.len());
                at = if stop == 0 && end == at {
                    end + 1
                } else {
                    end + stop
                };
            }
        }
    }
}

/// The module a path names: the longest prefix of it, resolved from `from`, that is a
/// module of the crate.
fn resolve(
    from: &ModulePath,
    path: &[String],
    modules: &BTreeSet<ModulePath>,
) -> Option<ModulePath> {
    let mut base: ModulePath;
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => {
            base = Vec::new();
            rest = &path[1..];
        }
        Some("self") => {
            base = from.clone();
            rest = &path[1..];
        }
        Some("super") => {
            base = from.clone();
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => base = from.clone(),
    }
    let mut best = modules.contains(&base).then(|| base.clone());
    for segment in rest {
        base.push(segment.clone());
        if modules.contains(&base) {
            best = Some(base.clone());
        }
    }
    best
}

/// Which module names which: `graph[a]` holds every module `a`'s code names.
fn import_graph(sources: &[Source]) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
    let modules: BTreeSet<ModulePath> = sources.iter().map(|s| s.module.clone()).collect();
    let mut graph = BTreeMap::new();
    for source in sources {
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|m| m.len() == source.module.len() + 1 && m.starts_with(&source.module))
            .filter_map(|m| m.last().cloned())
            .collect();
        let named: BTreeSet<ModulePath> = named_paths(&source.code, &children)
            .iter()
            .filter_map(|path| resolve(&source.module, path, &modules))
            .filter(|module| *module != source.module)
            .collect();
        graph.insert(source.module.clone(), named);
    }
    graph
}

/// The graph's circles: its strongly connected parts of more than one module
/// (Tarjan's algorithm), each sorted.
fn circles(graph: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<Vec<ModulePath>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<ModulePath, BTreeSet<ModulePath>>,
        index: BTreeMap<&'g ModulePath, usize>,
        low: BTreeMap<&'g ModulePath, usize>,
        stack: Vec<&'g ModulePath>,
        on_stack: BTreeSet<&'g ModulePath>,
        found: Vec<Vec<ModulePath>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, module: &'g ModulePath) {
            let next = self.index.len();
            self.index.insert(module, next);
            self.low.insert(module, next);
            self.stack.push(module);
            self.on_stack.insert(module);
            for named in self.graph.get(module).into_iter().flatten() {
                let Some((named, _)) = self.graph.get_key_value(named) else {
                    continue;
                };
                if !self.index.contains_key(named) {
                    self.visit(named);
                    let low = self.low[module].min(self.low[named]);
                    self.low.insert(module, low);
                } else if self.on_stack.contains(named) {
                    let low = self.low[module].min(self.index[named]);
                    self.low.insert(module, low);
                }
            }
            if self.low[module] == self.index[module] {
                let mut part = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    part.push(top.clone());
                    if top == module {
                        break;
                    }
                }
                if part.len() > 1 {
                    part.sort();
                    self.found.push(part);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for module in graph.keys() {
        if !walk.index.contains_key(module) {
            walk.visit(module);
        }
    }
    walk.found
}

/// A circle for a failure message: its files and, for each, what it names inside it.
fn describe(circle: &[ModulePath], graph: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> String {
    let inside: BTreeSet<&ModulePath> = circle.iter().collect();
    circle
        .iter()
        .map(|module| {
            let named: Vec<String> = graph[module]
                .iter()
                .filter(|n| inside.contains(n))
                .map(|n| n.join("::"))
                .collect();
            format!("  {} names {}", module.join("::"), named.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn src_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_one_downstream_of_it() {
    let sources = crate_sources(&src_root());
    assert!(
        sources.len() > 30,
        "only {} files were checked",
        sources.len()
    );
    let mut violations = Vec::new();
    for source in &sources {
        let top = &source.module[0];
        let Some(own) = layer(top) else {
            panic!("crate::{top} has no layer: give it one in layout_rule.rs");
        };
        for path in named_paths(&source.code, &BTreeSet::new()) {
            let [first, named, ..] = path.as_slice() else {
                continue;
            };
            let Some(theirs) = layer(named).filter(|_| first == "crate") else {
                continue;
            };
            let sideways = own == 1 && theirs == 1 && named != top;
            if theirs > own || sideways {
                violations.push(format!("{} names crate::{named}", source.module.join("::")));
            }
        }
    }
    violations.dedup();
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn no_circle_of_imports_anywhere() {
    let graph = import_graph(&crate_sources(&src_root()));
    let edges: usize = graph.values().map(BTreeSet::len).sum();
    assert!(edges > 100, "only {edges} imports were seen");
    let found = circles(&graph);
    let report: Vec<String> = found.iter().map(|c| describe(c, &graph)).collect();
    assert!(
        found.is_empty(),
        "{} circle(s) of imports:\n{}",
        found.len(),
        report.join("\n\n")
    );
}

#[cfg(test)]
mod rule_checks {
    use super::*;

    fn source(module: &str, code: &str) -> Source {
        Source {
            module: module.split("::").map(str::to_owned).collect(),
            code: code_only(code),
        }
    }

    #[test]
    fn paths_are_read_from_use_lists_calls_and_relative_forms() {
        let children = BTreeSet::from(["child".to_owned()]);
        let code = "use crate::a::{b::{C, D as E}, self, f};\nlet x = super::g::h(); child::run(); other::x();\n/// [`crate::z`]";
        let paths = named_paths(&code_only(code), &children);
        let text: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
        assert_eq!(
            text,
            [
                "crate::a::b::C",
                "crate::a::b::D",
                "crate::a",
                "crate::a::f",
                "super::g::h",
                "child::run"
            ]
        );
    }

    #[test]
    fn test_items_and_comments_are_left_out() {
        let code = "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\n#[cfg(test)]\nuse crate::c;\nlet y = 1; // crate::d\n";
        let paths = named_paths(&code_only(code), &BTreeSet::new());
        assert_eq!(paths, [vec!["crate".to_owned(), "a".to_owned()]]);
    }

    #[test]
    fn a_planted_import_makes_a_circle_the_rule_reports() {
        let clean = [
            source("surfaces::api", "use crate::surfaces::error::ApiError;"),
            source("surfaces::access", "use super::error::ApiError;"),
            source("surfaces::error", "pub struct ApiError;"),
        ];
        assert!(circles(&import_graph(&clean)).is_empty());
        let planted = [
            source("surfaces::api", "use crate::surfaces::error::ApiError;"),
            source("surfaces::access", "use super::api::handler;"),
            source("surfaces::error", "use crate::surfaces::access::Role;"),
        ];
        let graph = import_graph(&planted);
        let found = circles(&graph);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].len(), 3);
        assert!(describe(&found[0], &graph).contains("surfaces::error names surfaces::access"));
    }

    #[test]
    fn a_parent_and_a_child_naming_each_other_is_a_circle() {
        let sources = [
            source("alerts", "pub use rules::Rule;\npub struct Level;"),
            source("alerts::rules", "use super::Level;"),
        ];
        assert_eq!(circles(&import_graph(&sources)).len(), 1);
    }

    #[test]
    fn layers_order_the_rooms() {
        assert!(layer("surfaces") > layer("pipeline"));
        assert!(layer("surfaces") > layer("fleet") && layer("fleet") > layer("pipeline"));
        assert!(layer("surfaces") > layer("accept") && layer("accept") > layer("fleet"));
    }
}
