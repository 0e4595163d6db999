//! The command line as a table cell: arguments joined by spaces, cut to a length.

use std::ffi::OsString;

/// Marks a cut command line.
pub const ELLIPSIS: char = '…';

/// The arguments joined by spaces (non-UTF-8 bytes replaced), at most `max_chars`
/// characters; a cut ends in `…`, which counts towards the limit. Kernel threads and
/// zombies have no arguments: they are shown as `[name]`, as `ps` does.
pub fn command_line(args: &[OsString], name: &str, max_chars: usize) -> String {
    let joined = if args.is_empty() {
        format!("[{name}]")
    } else {
        args.iter()
            .map(|arg| arg.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    };
    truncate(joined, max_chars)
}

/// `text` cut to `max_chars` characters (never inside one), the last being `…`.
pub fn truncate(mut text: String, max_chars: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max_chars) {
        // Keep max_chars - 1 characters and the ellipsis.
        let keep = text[..cut]
            .char_indices()
            .last()
            .map_or(0, |(last, _)| last);
        text.truncate(keep);
        if max_chars > 0 {
            text.push(ELLIPSIS);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(truncate("top -b".into(), 6), "top -b");
        assert_eq!(truncate("top -b".into(), 256), "top -b");
        assert_eq!(truncate(String::new(), 3), "");
    }

    #[test]
    fn a_cut_keeps_the_limit_and_ends_in_an_ellipsis() {
        assert_eq!(truncate("top -b -n 1".into(), 6), "top -…");
        assert_eq!(truncate("top -b -n 1".into(), 1), "…");
        assert_eq!(truncate("top".into(), 0), "");
    }

    #[test]
    fn never_cuts_inside_a_character() {
        // Multi-byte characters: 'é' is two bytes, '日' three, '🦀' four.
        let cut = truncate("éé日日🦀🦀".into(), 5);
        assert_eq!(cut, "éé日日…");
        assert_eq!(cut.chars().count(), 5);
        assert_eq!(truncate("🦀🦀🦀".into(), 2), "🦀…");
    }

    #[test]
    fn joins_arguments_and_names_kernel_threads() {
        let args: Vec<OsString> = ["/usr/bin/python3", "-m", "http.server", "8000"]
            .into_iter()
            .map(OsString::from)
            .collect();
        assert_eq!(
            command_line(&args, "python3", 256),
            "/usr/bin/python3 -m http.server 8000"
        );
        assert_eq!(command_line(&args, "python3", 12), "/usr/bin/py…");
        assert_eq!(command_line(&[], "kworker/0:1", 256), "[kworker/0:1]");
    }
}
