//! A list of Apprise URLs, read as Apprise reads one: separated by commas and/or
//! whitespace, `#` comment lines, and its TEXT config form `tag1,tag2=url`.

/// The most URLs one sink takes; more is a config error (each costs a request).
pub const MAX_URLS: usize = 100;

/// One URL as written, with the tags of the TEXT config line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The URL text.
    pub url: String,
    /// Tags from `tag1,tag2=url` (kept for routing; unused for now).
    pub tags: Vec<String>,
}

/// Splits `text` into URLs as Apprise reads them: lines starting with `#` are
/// comments; a line `tags=url…` carries tags; URLs are separated by commas and/or
/// whitespace, but only where the next one begins (`scheme://`), so a comma in a query
/// (`?tags=a,b`) stays inside its URL.
pub fn split_list(text: &str) -> Vec<Listed> {
    let mut listed = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let (tags, urls) = split_tags(line);
        for url in split_urls(urls) {
            listed.push(Listed {
                url,
                tags: tags.clone(),
            });
        }
    }
    listed
}

/// `tag1, tag2 = url…` → the tags and the rest; a line without `=` before its first
/// `://` has no tags.
fn split_tags(line: &str) -> (Vec<String>, &str) {
    let first_scheme = line.find("://").unwrap_or(line.len());
    match line[..first_scheme].find('=') {
        Some(eq) => {
            let tags = line[..eq]
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|tag| !tag.is_empty())
                .map(str::to_owned)
                .collect();
            (tags, line[eq + 1..].trim())
        }
        None => (Vec::new(), line),
    }
}

/// Splits at runs of commas/whitespace that are followed by `scheme://`.
fn split_urls(text: &str) -> Vec<String> {
    let mut urls = Vec::new();
    let mut current = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == ',' || c.is_whitespace() {
            let after = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            if after.is_empty() || starts_with_scheme(after) {
                if !current.is_empty() {
                    urls.push(std::mem::take(&mut current));
                }
                rest = after;
                continue;
            }
            // A separator inside one URL (`?to=a,b`): whitespace never belongs to one.
            if c == ',' {
                current.push(c);
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        current.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !current.is_empty() {
        urls.push(current);
    }
    urls
}

fn starts_with_scheme(text: &str) -> bool {
    text.find("://").is_some_and(|at| {
        at > 0
            && text[..at]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<String> {
        split_list(text).into_iter().map(|l| l.url).collect()
    }

    #[test]
    fn lists_split_at_commas_and_whitespace_before_a_scheme() {
        assert_eq!(
            urls("ntfy://a/b, gotify://h/t\n  json://x?+X-A=1,2 tgram://1:A/2"),
            [
                "ntfy://a/b",
                "gotify://h/t",
                "json://x?+X-A=1,2",
                "tgram://1:A/2"
            ]
        );
        assert_eq!(urls("ntfy://h/t?tags=a,b,c"), ["ntfy://h/t?tags=a,b,c"]);
        assert!(urls("# comment\n; other\n\n").is_empty());
    }

    #[test]
    fn text_config_lines_carry_tags() {
        let listed = split_list("ops, db = ntfy://h/t json://j\nmmost://m/tok");
        assert_eq!(listed[0].tags, ["ops", "db"]);
        assert_eq!(listed[1].url, "json://j");
        assert_eq!(listed[1].tags, ["ops", "db"]);
        assert!(listed[2].tags.is_empty());
    }
}
