//! How much of a remote's (or the operator's) text may go into an error message or a
//! log line: a short prefix, control characters escaped, secrets replaced by
//! [`REDACTED`]. Shared by every network sink, so one rule holds for all of them.
//!
//! Two kinds of secret are hidden:
//! - the ones this sink knows (configured header values, URL credentials, passwords),
//!   matched exactly, also when the text ends in the middle of one (a reply body is
//!   read only up to a limit, which may cut a secret in two);
//! - anything that looks like one: the value after `Authorization`, `Bearer`, `Basic`,
//!   `token`, `password`, `secret`, `key`, `cookie`, … followed by `:` or `=` (or, for
//!   the auth schemes, a space). This errs on the side of hiding: `monkey=banana` loses
//!   its banana too.

use std::fmt;

/// The longest quote, in characters, that goes into a message (an ellipsis included).
pub const QUOTE_LIMIT: usize = 120;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Known secrets shorter than this are not matched exactly (they cannot be told from
/// ordinary text); the patterns still apply.
const SHORTEST_SECRET: usize = 4;

/// Names after which a `:` or `=` introduces a secret (lowercase; matched anywhere in
/// a word, so `x-auth-token` and `client_secret` count).
const SECRET_NAMES: &[&str] = &[
    "authorization",
    "bearer",
    "basic",
    "token",
    "password",
    "passwd",
    "pwd",
    "secret",
    "key",
    "cookie",
    "credential",
    "signature",
    "session",
];

/// Auth schemes: a credential follows them after a space alone.
const SCHEMES: &[&str] = &["bearer", "basic", "digest"];

/// A value after a scheme and a space must be this long to be taken for a credential
/// ("Bearer token required" keeps its words).
const SHORTEST_SCHEME_VALUE: usize = 6;

/// Hides what it knows and what looks secret. Deliberately not `Debug`-printing its
/// secrets.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so a header value is hidden whole before its token part is.
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Redactor {
    /// A redactor hiding `secrets` (and, for any with spaces, their last word: the
    /// token of `Bearer <token>`) besides the patterns.
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let mut all = Vec::new();
        for secret in secrets {
            let secret = secret.as_ref().trim();
            all.push(secret.to_owned());
            if let Some((_, last)) = secret.rsplit_once(char::is_whitespace) {
                all.push(last.to_owned());
            }
        }
        all.retain(|s| s.chars().count() >= SHORTEST_SECRET);
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
        Self { secrets: all }
    }

    /// `text` with every secret replaced, whole (no shortening).
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
            if let Some(cut) = partial_tail(&text, secret) {
                text.truncate(cut);
                text.push_str(REDACTED);
            }
        }
        redact_patterns(&text)
    }

    /// What may go into a message: [`redact`](Self::redact)ed, control characters
    /// escaped, at most [`QUOTE_LIMIT`] characters.
    pub fn quote(&self, text: &str) -> String {
        shorten(&self.redact(text.trim()), QUOTE_LIMIT)
    }
}

/// [`Redactor::quote`] with no known secrets: for text the operator wrote in the
/// settings, or a remote's reply to a sink without secrets.
pub fn quote(text: &str) -> String {
    Redactor::default().quote(text)
}

/// Where `text` ends with the first 4 or more characters of `secret` (not all of it),
/// the byte offset at which that beginning starts.
fn partial_tail(text: &str, secret: &str) -> Option<usize> {
    let ends: Vec<usize> = secret
        .char_indices()
        .map(|(i, _)| i)
        .skip(SHORTEST_SECRET)
        .collect();
    ends.into_iter()
        .rev()
        .find(|&end| text.ends_with(&secret[..end]))
        .map(|end| text.len() - end)
}

/// Control characters escaped (`\n`, `\u{1b}`), then cut to `limit` characters with an
/// ellipsis; an escape is never cut in two.
fn shorten(text: &str, limit: usize) -> String {
    let pieces: Vec<String> = text
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect();
    let width = |piece: &String| piece.chars().count();
    if pieces.iter().map(width).sum::<usize>() <= limit {
        return pieces.concat();
    }
    let mut out = String::new();
    let mut used = 0;
    for piece in &pieces {
        if used + width(piece) > limit.saturating_sub(1) {
            break;
        }
        out.push_str(piece);
        used += width(piece);
    }
    out.push('…');
    out
}

/// Replaces the value after every secret-looking name.
fn redact_patterns(text: &str) -> String {
    // ASCII lowercasing keeps byte offsets, so spans found in `lower` apply to `text`.
    let lower = text.to_ascii_lowercase();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for name in SECRET_NAMES {
        for (at, _) in lower.match_indices(name) {
            if let Some(span) = value_after(&lower, at + name.len(), SCHEMES.contains(name)) {
                spans.push(span);
            }
        }
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (start, end) in spans {
        if end <= done {
            continue;
        }
        let start = start.max(done);
        out.push_str(&text[done..start]);
        out.push_str(REDACTED);
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

/// The byte span of the value a secret name at `..from` introduces, if any.
fn value_after(lower: &str, from: usize, is_scheme: bool) -> Option<(usize, usize)> {
    let bytes = lower.as_bytes();
    let mut i = from;
    // The rest of the name: `token` in `x-auth-token`, `key` in `api_key_id`.
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'-')) {
        i += 1;
    }
    let name_end = i;
    let skip = |mut i: usize, what: &dyn Fn(u8) -> bool| {
        while i < bytes.len() && what(bytes[i]) {
            i += 1;
        }
        i
    };
    i = skip(i, &|b| matches!(b, b'"' | b'\'') || b == b' ' || b == b'\t');
    let separated = i < bytes.len() && matches!(bytes[i], b':' | b'=');
    let mut shortest = 1;
    if separated {
        i = skip(i + 1, &|b| matches!(b, b'"' | b'\'' | b' ' | b'\t'));
        // `Authorization: Bearer <token>`: the credential is the word after the scheme.
        for scheme in SCHEMES {
            let after = i + scheme.len();
            if lower[i..].starts_with(scheme) && bytes.get(after) == Some(&b' ') {
                i = skip(after, &|b| b == b' ');
                break;
            }
        }
    } else if is_scheme && name_end == from && i > name_end {
        shortest = SHORTEST_SCHEME_VALUE;
    } else {
        return None;
    }
    if lower[i..].starts_with(REDACTED) {
        return None;
    }
    let end = skip(i, &|b| {
        !(b.is_ascii_whitespace()
            || b.is_ascii_control()
            || matches!(
                b,
                b'"' | b'\'' | b'&' | b',' | b';' | b'}' | b']' | b'<' | b'>'
            ))
    });
    (end - i >= shortest).then_some((i, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_values_and_token_like_pairs_are_hidden() {
        let r = Redactor::default();
        assert_eq!(
            r.redact("authorization: Bearer abc.def-123"),
            "authorization: Bearer [redacted]"
        );
        assert_eq!(
            r.redact(r#"{"Authorization":"Basic dXNlcjpwYXNz","x":1}"#),
            r#"{"Authorization":"Basic [redacted]","x":1}"#
        );
        assert_eq!(
            r.redact("GET /cb?access_token=s3cr3t&page=2"),
            "GET /cb?access_token=[redacted]&page=2"
        );
        assert_eq!(
            r.redact("X-Api-Key: k-1\npassword = hunter2; secret:'xyz'"),
            "X-Api-Key: [redacted]\npassword = [redacted]; secret:'[redacted]'"
        );
        assert_eq!(
            r.redact("invalid bearer eyJhbGciOi in request"),
            "invalid bearer [redacted] in request"
        );
        // Words after a scheme that are too short for a credential stay.
        assert_eq!(r.redact("Bearer token required"), "Bearer token required");
        assert_eq!(r.redact("invalid_payload"), "invalid_payload");
        assert_eq!(r.redact("no_text"), "no_text");
    }

    #[test]
    fn known_secrets_are_hidden_whole_and_cut() {
        let r = Redactor::new(["Bearer opensesame42", "T0/B0/XXXXXXXX", "ab"]);
        assert_eq!(
            r.redact("echo: opensesame42 and T0/B0/XXXXXXXX"),
            "echo: [redacted] and [redacted]"
        );
        // A body read up to a limit may end inside a secret.
        assert_eq!(r.redact("got x-custom: opense"), "got x-custom: [redacted]");
        // Too short to match on its own: "ab" is everywhere.
        assert_eq!(r.redact("table"), "table");
        assert!(!format!("{r:?}").contains("opensesame"));
    }

    #[test]
    fn quotes_are_short_and_escaped() {
        let long = "é".repeat(500);
        let quoted = quote(&long);
        assert_eq!(quoted.chars().count(), QUOTE_LIMIT);
        assert!(quoted.ends_with('…'), "{quoted}");
        assert_eq!(quote("a\nb\u{1b}[31mc\r"), "a\\nb\\u{1b}[31mc");
        let exactly = "x".repeat(QUOTE_LIMIT);
        assert_eq!(quote(&exactly), exactly);
        // An escape is never cut in two.
        let escapes = format!("{}\n\n", "x".repeat(QUOTE_LIMIT - 2));
        let quoted = quote(&format!("{escapes}y"));
        assert!(quoted.ends_with("x…"), "{quoted}");
        assert!(quoted.chars().count() <= QUOTE_LIMIT);
    }

    #[test]
    fn secrets_are_hidden_before_the_text_is_cut() {
        // Were the text cut first, the token would straddle the cut and half of it show.
        let text = format!("{} Authorization: Bearer abcdefgh12345678", "x".repeat(100));
        let quoted = quote(&text);
        assert!(!quoted.contains("abcd"), "{quoted}");
    }
}
