//! Throttling what a script says on stderr: plugins have no channel to the host's log,
//! so these lines go to the server's stderr, which a chatty or looping script must not
//! flood. At most [`BURST`] lines per [`WINDOW`] per command; the rest are counted and
//! the count is reported when the window turns.

use std::time::{Duration, Instant};

/// Lines let through per window.
pub const BURST: u32 = 5;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Longest line kept, in bytes; the rest is cut.
pub const MAX_LINE: usize = 512;

/// One command's stderr throttle.
#[derive(Debug)]
pub struct StderrLog {
    command: String,
    window_start: Instant,
    shown: u32,
    suppressed: u64,
}

impl StderrLog {
    /// A throttle for the command `command`.
    pub fn new(command: &str) -> Self {
        Self {
            command: command.to_owned(),
            window_start: Instant::now(),
            shown: 0,
            suppressed: 0,
        }
    }

    /// The line to print for `line`, if the window has room (with the count of lines
    /// held back in the last window, when there were some).
    pub fn admit(&mut self, line: &str, now: Instant) -> Option<String> {
        let mut prefix = String::new();
        if now.duration_since(self.window_start) >= WINDOW {
            if self.suppressed > 0 {
                prefix = format!("({} stderr lines not shown) ", self.suppressed);
            }
            self.window_start = now;
            self.shown = 0;
            self.suppressed = 0;
        }
        if self.shown >= BURST {
            self.suppressed += 1;
            return None;
        }
        self.shown += 1;
        let line = line.trim_end();
        let cut = match line.char_indices().nth(MAX_LINE) {
            Some((at, _)) => &line[..at],
            None => line,
        };
        Some(format!(
            "WARN plugin=exec command={}: stderr: {prefix}{}",
            self.command,
            cut.escape_debug()
        ))
    }

    /// Prints `line` to the server's stderr if the window has room.
    pub fn log(&mut self, line: &str) {
        if let Some(text) = self.admit(line, Instant::now()) {
            eprintln!("{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_a_burst_through_then_counts_until_the_window_turns() {
        let start = Instant::now();
        let mut log = StderrLog::new("smart");
        let shown = (0..20)
            .filter(|i| log.admit(&format!("line {i}"), start).is_some())
            .count();
        assert_eq!(shown, BURST as usize);
        let next = log
            .admit("again", start + WINDOW + Duration::from_secs(1))
            .expect("a new window");
        assert!(next.contains("(15 stderr lines not shown) again"), "{next}");
        assert!(next.contains("command=smart"), "{next}");
    }
}
