//! What the `webhook` and `slack` sinks share: one HTTP POST of a JSON body per
//! delivery, the classification of its outcome into the host's error kinds, settings
//! read from environment variables; and, for every network sink (`email` too, without
//! the `http` feature), how much of a remote's reply may be quoted.
//!
//! A library, not a plugin: it has no `cdylib` target and exports no plugin header.
//!
//! | outcome                                   | error                               |
//! |-------------------------------------------|-------------------------------------|
//! | 2xx                                       | none                                |
//! | refused connection, timeout, reset, 5xx, 408 | retryable                        |
//! | 429 (and 503) with `Retry-After`          | retryable, with the delay asked for |
//! | other 4xx, 3xx (redirects not followed)   | fatal                               |
//!
//! Webhook URLs are often secrets (Slack's are the credential), and so are header
//! values, so error messages name only the host and port, never the path or the
//! headers, and quote a reply body only through [`Redactor::quote`]: a short prefix,
//! control characters escaped, every configured header value, URL secret and
//! secret-looking value replaced by `[redacted]` (an endpoint that echoes the request
//! would otherwise put the bearer token in the log).

#[cfg(feature = "http")]
mod classify;
#[cfg(feature = "http")]
mod endpoint;
#[cfg(feature = "http")]
mod poster;
mod redact;

#[cfg(feature = "http")]
pub use classify::{classify_status, parse_retry_after};
#[cfg(feature = "http")]
pub use endpoint::Endpoint;
#[cfg(feature = "http")]
pub use poster::{chain, client, timeout, JsonPoster};
pub use redact::{quote, Redactor, QUOTE_LIMIT, REDACTED};
