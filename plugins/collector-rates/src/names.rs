//! The `include` and `exclude` lists of a collector's settings: exact names, or a
//! prefix ending in `*` (`veth*`, `loop*`; `*` alone matches every name). Nothing
//! richer: interface and device names are short, and a full glob or regex language
//! would be one more thing for a user to get wrong in a monitoring config.

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePattern {
    /// Matches this name only.
    Exact(String),
    /// Matches every name starting with this (written `prefix*`).
    Prefix(String),
}

/// A list entry that is neither a name nor a trailing-`*` prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{setting}`: {pattern:?} {problem}")]
pub struct PatternError {
    /// The setting holding it (`include`, `exclude`).
    pub setting: &'static str,
    /// The entry as written.
    pub pattern: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl NamePattern {
    /// Reads one entry of the list named `setting`.
    pub fn parse(setting: &'static str, text: &str) -> Result<Self, PatternError> {
        let error = |problem| PatternError {
            setting,
            pattern: text.to_owned(),
            problem,
        };
        if text.is_empty() {
            return Err(error("is empty"));
        }
        match text.strip_suffix('*') {
            Some(prefix) if !prefix.contains('*') => Ok(Self::Prefix(prefix.to_owned())),
            _ if text.contains('*') => Err(error(
                "may only end in `*` (a prefix); other wildcards are not supported",
            )),
            _ => Ok(Self::Exact(text.to_owned())),
        }
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::Exact(exact) => name == exact,
            Self::Prefix(prefix) => name.starts_with(prefix.as_str()),
        }
    }
}

/// An `include` or `exclude` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameList(Vec<NamePattern>);

impl NameList {
    /// Reads the entries of the setting named `setting`; the first bad one is the error.
    pub fn parse(setting: &'static str, entries: &[String]) -> Result<Self, PatternError> {
        entries
            .iter()
            .map(|entry| NamePattern::parse(setting, entry))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether the list has no entries (an empty `include` means "every name").
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any entry matches `name`.
    pub fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|pattern| pattern.matches(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> NameList {
        let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
        NameList::parse("include", &entries).expect("valid patterns")
    }

    #[test]
    fn exact_names_and_prefixes_match() {
        let names = list(&["lo", "veth*"]);
        assert!(names.matches("lo"));
        assert!(!names.matches("lo0"), "an exact name is not a prefix");
        assert!(names.matches("veth4B09XN"));
        assert!(names.matches("veth"));
        assert!(!names.matches("eth0"));
        assert!(list(&["*"]).matches("anything"));
        assert!(!list(&[]).matches("lo"));
        assert!(list(&[]).is_empty());
    }

    #[test]
    fn other_wildcards_and_empty_entries_are_refused_by_name() {
        let err = NameList::parse("exclude", &["eth*0".to_owned()]).unwrap_err();
        assert_eq!(err.setting, "exclude");
        assert!(err.to_string().starts_with("`exclude`: \"eth*0\""), "{err}");
        assert!(NameList::parse("include", &["**".to_owned()]).is_err());
        assert!(NameList::parse("include", &[String::new()]).is_err());
    }
}
