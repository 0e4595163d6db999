//! One Apprise URL: splitting it into its parts and describing it without its
//! secrets. (Reading a list of them is [`crate::list`]'s.)
//!
//! Apprise URLs are not all RFC 3986: a Telegram bot token has a `:` where a port would
//! be, a Rocket.Chat webhook has a `/` before the `@`, and `#room` in a path is a
//! target, not a fragment. So the split is done by hand, as Apprise's own `parse_url`
//! does: `scheme://[user[:password]@]host[:port][/path…][?query]`.

use percent_encoding::percent_decode_str;

/// The longest URL taken, in bytes.
pub const MAX_URL_LEN: usize = 4096;

/// Schemes whose host part is a server address, not a credential: descriptions may
/// show it.
const HOST_SCHEMES: &[&str] = &[
    "gotify",
    "gotifys",
    "matrix",
    "matrixs",
    "mmost",
    "mmosts",
    "rocket",
    "rockets",
    "json",
    "jsons",
    "workflows",
    "workflow",
];

/// What is wrong with one URL; says which, never its secret parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("url #{position} ({shown}): {problem}")]
pub struct UrlError {
    /// 1-based position in the list.
    pub position: usize,
    /// Scheme, and host where the host is not a credential.
    pub shown: String,
    /// What is wrong, in words that quote no secret.
    pub problem: String,
}

/// One URL split into Apprise's parts, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppriseUrl {
    /// 1-based position in the list, for messages.
    pub position: usize,
    /// Lowercase scheme, e.g. `ntfys`.
    pub scheme: String,
    /// Before `:` in the userinfo.
    pub user: Option<String>,
    /// After `:` in the userinfo.
    pub password: Option<String>,
    /// Everything between `@` (or `://`) and the first `/`, decoded: a host and port,
    /// or for the fixed-host services the credential Apprise puts there.
    pub authority: String,
    /// Path segments, decoded, empty ones dropped.
    pub path: Vec<String>,
    /// Query pairs in order, decoded (`+` stays `+`); plain keys lowercased, `+Header`,
    /// `-param`, `:field` keys kept as written.
    pub query: Vec<(String, String)>,
    /// Tags of the TEXT config line.
    pub tags: Vec<String>,
}

impl AppriseUrl {
    /// Splits `raw`, the `position`th URL of the list.
    pub fn parse(raw: &str, position: usize, tags: Vec<String>) -> Result<Self, UrlError> {
        let fail = |problem: &str| UrlError {
            position,
            shown: describe_raw(raw),
            problem: problem.to_owned(),
        };
        if raw.len() > MAX_URL_LEN {
            return Err(fail("longer than 4096 bytes"));
        }
        let Some((scheme, rest)) = raw.split_once("://") else {
            return Err(fail("not a URL (no `scheme://`)"));
        };
        let scheme = scheme.to_ascii_lowercase();
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (userinfo, after_user) = split_userinfo(&scheme, before_query);
        let (authority, path) = after_user.split_once('/').unwrap_or((after_user, ""));
        let (user, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (non_empty(decode(user)), Some(decode(password))),
                None => (non_empty(decode(info)), None),
            },
            None => (None, None),
        };
        Ok(Self {
            position,
            scheme,
            user,
            password,
            authority: decode(authority),
            path: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(decode)
                .collect(),
            query: parse_query(query),
            tags,
        })
    }

    /// `scheme://host…`, or `scheme://…` for schemes whose host is a credential.
    pub fn describe(&self) -> String {
        if HOST_SCHEMES.contains(&self.scheme.as_str())
            || (self.scheme.starts_with("ntfy") && !self.path.is_empty())
        {
            match self.split_host_port() {
                Ok((host, Some(port))) => format!("{}://{host}:{port}…", self.scheme),
                Ok((host, None)) => format!("{}://{host}…", self.scheme),
                Err(_) => format!("{}://…", self.scheme),
            }
        } else {
            format!("{}://…", self.scheme)
        }
    }

    /// An error about this URL.
    pub fn error(&self, problem: impl Into<String>) -> UrlError {
        UrlError {
            position: self.position,
            shown: self.describe(),
            problem: problem.into(),
        }
    }

    /// The value of a plain query key (lowercase), the last one given, if not empty.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The query pairs whose key starts with `prefix` (`+`, `-`, `:`), prefix removed.
    pub fn prefixed(&self, prefix: char) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().filter_map(move |(k, v)| {
            k.strip_prefix(prefix)
                .filter(|k| !k.is_empty())
                .map(|k| (k, v.as_str()))
        })
    }

    /// The host and the port written, split at the last `:` (after `]` for an IPv6
    /// address); an error names the problem without the value.
    pub fn host_port(&self) -> Result<(String, Option<u16>), UrlError> {
        self.split_host_port()
            .map_err(|problem| self.error(problem))
    }

    fn split_host_port(&self) -> Result<(String, Option<u16>), &'static str> {
        let authority = self.authority.as_str();
        if authority.is_empty() {
            return Err("no host");
        }
        let (host, port) = if authority.starts_with('[') {
            let close = authority.find(']').ok_or("the IPv6 address has no `]`")?;
            let rest = &authority[close + 1..];
            let port = match rest.strip_prefix(':') {
                Some(port) => Some(port),
                None if rest.is_empty() => None,
                None => return Err("the host is not a host name or address"),
            };
            (&authority[..=close], port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(port) => Some(
                port.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or("the port is not a number from 1 to 65535")?,
            ),
            None => None,
        };
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c));
        if !valid {
            return Err("the host is not a host name or address");
        }
        Ok((host.to_owned(), port))
    }

    /// `http(s)://host[:port]`, https when the scheme ends in `s` (`ntfys`, `jsons`).
    pub fn origin(&self, secure: bool) -> Result<String, UrlError> {
        let (host, port) = self.host_port()?;
        let scheme = if secure { "https" } else { "http" };
        Ok(match port {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        })
    }

    /// Whether a boolean query option is on (`yes`, `true`, `1`, `on`), else `default`.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        match self.param(key) {
            Some(v) => matches!(
                v.to_ascii_lowercase().as_str(),
                "yes" | "true" | "1" | "on" | "y"
            ),
            None => default,
        }
    }
}

/// Splits off `userinfo@` when the `@` comes before the first `/` (Rocket.Chat's
/// webhook `a/b@host` has one `/` inside its userinfo).
fn split_userinfo<'a>(scheme: &str, text: &'a str) -> (Option<&'a str>, &'a str) {
    let Some(at) = text.find('@') else {
        return (None, text);
    };
    let slashes = text[..at].matches('/').count();
    let allowed = if scheme.starts_with("rocket") { 1 } else { 0 };
    if slashes <= allowed {
        (Some(&text[..at]), &text[at + 1..])
    } else {
        (None, text)
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key);
            let key = if key.starts_with(['+', '-', ':']) {
                key
            } else {
                key.to_ascii_lowercase()
            };
            (key, decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// The scheme of text that did not parse, never more.
fn describe_raw(raw: &str) -> String {
    match raw.split_once("://") {
        Some((scheme, _))
            if scheme.len() <= 16 && scheme.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            format!("{}://…", scheme.to_ascii_lowercase())
        }
        _ => "not a URL".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_split_and_decoded() {
        let url = AppriseUrl::parse(
            "NTFYS://us%40r:p%3Ass@host:8080/a/%23b/?Priority=high&+X-K=v%20w",
            3,
            vec![],
        )
        .unwrap();
        assert_eq!(url.scheme, "ntfys");
        assert_eq!(url.user.as_deref(), Some("us@r"));
        assert_eq!(url.password.as_deref(), Some("p:ss"));
        assert_eq!(url.host_port().unwrap(), ("host".to_owned(), Some(8080)));
        assert_eq!(url.path, ["a", "#b"]);
        assert_eq!(url.param("priority"), Some("high"));
        assert_eq!(url.prefixed('+').collect::<Vec<_>>(), [("X-K", "v w")]);
        let rocket = AppriseUrl::parse("rocket://ab/cd@chat.example:3000/#ops", 1, vec![]).unwrap();
        assert_eq!(rocket.user.as_deref(), Some("ab/cd"));
        assert_eq!(rocket.authority, "chat.example:3000");
        assert_eq!(rocket.path, ["#ops"]);
    }

    #[test]
    fn descriptions_hide_credentials() {
        let tgram = AppriseUrl::parse("tgram://123456:SECRET/42", 2, vec![]).unwrap();
        assert_eq!(tgram.describe(), "tgram://…");
        let gotify = AppriseUrl::parse("gotify://push.example/SECRET", 1, vec![]).unwrap();
        assert_eq!(gotify.describe(), "gotify://push.example…");
        let err = AppriseUrl::parse("nonsense SECRET", 4, vec![]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "url #4 (not a URL): not a URL (no `scheme://`)"
        );
        let v6 = AppriseUrl::parse("json://[::1]:8080/x", 1, vec![]).unwrap();
        assert_eq!(v6.host_port().unwrap(), ("[::1]".to_owned(), Some(8080)));
        assert_eq!(v6.describe(), "json://[::1]:8080…");
        let bad_port = AppriseUrl::parse("gotify://h:SECRET/t", 1, vec![]).unwrap();
        let err = bad_port.host_port().unwrap_err().to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }
}
