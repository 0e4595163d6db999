//! A silence's `duration` as people write it: `"2h"`, `"30m"`, `"90s"`, `"1d"`,
//! `"1h30m"`, `"1w"` (Alertmanager's and Prometheus's units, largest first, each at
//! most once). Written here rather than pulled in: the grammar is a dozen lines and the
//! errors must say what this field takes.

use chrono::Duration;

/// Longest text accepted: no real duration needs more.
const MAX_CHARS: usize = 32;

/// The units, largest first, in seconds.
const UNITS: [(&str, i64); 5] = [
    ("w", 7 * 86_400),
    ("d", 86_400),
    ("h", 3_600),
    ("m", 60),
    ("s", 1),
];

/// Parses `text`, or says what a duration looks like.
pub fn parse(text: &str) -> Result<Duration, String> {
    let usage = || {
        format!(
            "`{}` is not a duration: write e.g. \"2h\", \"30m\", \"90s\", \"1d\" or \"1h30m\"",
            super::quote::excerpt(text)
        )
    };
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_CHARS {
        return Err(usage());
    }
    let mut rest = text;
    let mut seconds: i64 = 0;
    // Units must come largest first, each once: `30m2h` is a typo, not 2h30m.
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return Err(usage());
        }
        let (number, after) = rest.split_at(digits);
        let number: i64 = number.parse().map_err(|_| usage())?;
        let Some(offset) = UNITS[next_unit..]
            .iter()
            .position(|(unit, _)| after.starts_with(unit))
        else {
            return Err(usage());
        };
        let (unit, scale) = UNITS[next_unit + offset];
        next_unit += offset + 1;
        seconds = number
            .checked_mul(scale)
            .and_then(|part| seconds.checked_add(part))
            .ok_or_else(usage)?;
        rest = &after[unit.len()..];
    }
    if seconds == 0 {
        return Err(format!(
            "`{text}` is no time at all: a duration must be positive"
        ));
    }
    Ok(Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_combinations() {
        let seconds = |text: &str| parse(text).map(|d| d.num_seconds());
        assert_eq!(seconds("2h"), Ok(7_200));
        assert_eq!(seconds("30m"), Ok(1_800));
        assert_eq!(seconds("90s"), Ok(90));
        assert_eq!(seconds("1d"), Ok(86_400));
        assert_eq!(seconds("1w"), Ok(604_800));
        assert_eq!(seconds("1h30m"), Ok(5_400));
        assert_eq!(seconds(" 1d2h3m4s "), Ok(93_784));
    }

    #[test]
    fn what_is_not_a_duration_says_so() {
        for bad in [
            "",
            "2",
            "h",
            "2x",
            "-1h",
            "1.5h",
            "30m2h",
            "1h1h",
            "2 h",
            "0s",
            "99999999999s",
        ] {
            let error = parse(bad).expect_err(bad);
            assert!(
                error.contains("duration") || error.contains("no time"),
                "{bad}: {error}"
            );
        }
        let long = "1".repeat(1000) + "s";
        assert!(parse(&long).expect_err("long").len() < 200);
    }
}
