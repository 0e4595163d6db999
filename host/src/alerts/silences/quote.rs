//! What an error may quote of what a client sent: at most [`QUOTE_CHARS`] characters.
//! (The wire's own `excerpt` lives downstream, in the pipeline, out of this stage's
//! reach.)

/// Longest piece of client input an error quotes.
pub const QUOTE_CHARS: usize = 64;

/// At most [`QUOTE_CHARS`] characters of `text`, with `…` when cut.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
