//! What a `subscribe` may name: sections that exist. A client cannot make the server
//! serialize (or remember) messages for names it invents; past the count cap in
//! [`crate::pipeline::wire`], every name must be one the bus knows
//! ([`crate::pipeline::bus::Frame::sections`]).

/// Characters of an unknown name quoted back: enough to spot a typo, never an echo of
/// whatever a client sent.
pub const QUOTED_CHARS: usize = 24;
/// Known names listed in the error, at most.
const LISTED: usize = 16;

/// Checks `requested` (sorted) against `known` (sorted), the sections of the newest
/// frame; `None` before the first tick, when nothing can be checked yet and the names
/// are taken as they are (they stay bounded in count and length).
pub fn check_sections(requested: &[String], known: Option<&[String]>) -> Result<(), String> {
    let Some(known) = known else {
        return Ok(());
    };
    let Some(unknown) = requested
        .iter()
        .find(|name| known.binary_search(name).is_err())
    else {
        return Ok(());
    };
    let mut listed = known
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if known.len() > LISTED {
        listed.push_str(", …");
    }
    Err(format!(
        "unknown section {:?}; sections: {listed}",
        prefix(unknown)
    ))
}

/// At most [`QUOTED_CHARS`] characters of `name`, with `…` when cut.
fn prefix(name: &str) -> String {
    match name.char_indices().nth(QUOTED_CHARS) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn only_known_sections_pass() {
        let known = names(&["disk", "memory", "processor", "system"]);
        assert_eq!(
            check_sections(&names(&["disk", "memory"]), Some(&known)),
            Ok(())
        );
        let err = check_sections(&names(&["disk", "dsik"]), Some(&known)).expect_err("typo");
        assert_eq!(
            err,
            "unknown section \"dsik\"; sections: disk, memory, processor, system"
        );
        assert_eq!(
            check_sections(&names(&["anything"]), None),
            Ok(()),
            "before the first tick"
        );
    }

    #[test]
    fn an_unknown_name_is_quoted_short() {
        let long = "é".repeat(64);
        let err = check_sections(&[long], Some(&names(&["disk"]))).expect_err("unknown");
        assert!(
            err.contains(&format!("\"{}…\"", "é".repeat(QUOTED_CHARS))),
            "{err}"
        );
        assert!(err.chars().count() < 80, "{err}");
    }
}
