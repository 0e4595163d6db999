//! Output of a Nagios/Icinga plugin, per the Monitoring Plugins Development Guidelines:
//! the exit code is the state (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN); the first line
//! is `TEXT | perfdata`; the lines after it are long output, until a line with a `|`,
//! after which everything is more perfdata. A perfdata item is
//! `'label'=value[UOM];[warn];[crit];[min];[max]`, the label quoted when it has spaces
//! (a quote inside doubled: `''`), the value `U` when it could not be determined
//! (such an item is left out: it has no number).
//!
//! No crate parses this (checked for issue 24); the grammar is a page long.

use std::collections::BTreeMap;

use monitoring_plugin_api::sections::scripted::{
    NagiosSection, NagiosState, Perfdata, ScriptFormat,
};

use crate::ParseError;

/// The exit code a plugin that could not run or was killed is reported with.
pub const UNKNOWN_CODE: i32 = 3;

/// Parses a plugin's output; `exit_code` is `None` when it was killed by a signal.
pub fn parse(output: &str, exit_code: Option<i32>) -> Result<NagiosSection, ParseError> {
    let code = exit_code.unwrap_or(UNKNOWN_CODE);
    let mut lines = output.lines().enumerate();
    let (message, mut perfdata_text) = match lines.next() {
        Some((_, first)) => split_perfdata(first),
        None => ("(no output)", None),
    };
    let mut perfdata_lines: Vec<(usize, &str)> = Vec::new();
    if let Some(text) = perfdata_text.take() {
        perfdata_lines.push((1, text));
    }
    let mut long_output: Vec<&str> = Vec::new();
    let mut in_perfdata = false;
    for (index, line) in lines {
        if in_perfdata {
            perfdata_lines.push((index + 1, line));
            continue;
        }
        let (text, perf) = split_perfdata(line);
        long_output.push(text);
        if let Some(perf) = perf {
            perfdata_lines.push((index + 1, perf));
            in_perfdata = true;
        }
    }
    let mut perfdata = BTreeMap::new();
    for (line, text) in perfdata_lines {
        parse_perfdata(text, &mut perfdata).map_err(|message| ParseError::at(line, message))?;
    }
    Ok(NagiosSection {
        format: ScriptFormat::Nagios,
        state: NagiosState::from_exit_code(code),
        code,
        message: message.trim().to_owned(),
        long_output: long_output.join("\n").trim_end().to_owned(),
        perfdata,
    })
}

/// The section of a plugin that did not run to its end (timeout, output cut, cannot
/// start): UNKNOWN with `why` as its message, as Nagios reports a plugin it timed out.
pub fn unknown(why: &str) -> NagiosSection {
    NagiosSection {
        format: ScriptFormat::Nagios,
        state: NagiosState::Unknown,
        code: UNKNOWN_CODE,
        message: why.to_owned(),
        long_output: String::new(),
        perfdata: BTreeMap::new(),
    }
}

/// `TEXT | perf` into the text and the perfdata, if the line has a `|`.
fn split_perfdata(line: &str) -> (&str, Option<&str>) {
    match line.split_once('|') {
        Some((text, perf)) => (text, Some(perf)),
        None => (line, None),
    }
}

/// Reads the items of one perfdata text into `into`.
fn parse_perfdata(mut text: &str, into: &mut BTreeMap<String, Perfdata>) -> Result<(), String> {
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Ok(());
        }
        let (label, rest) = read_label(text)?;
        let end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (item, after) = rest.split_at(end);
        text = after;
        if let Some(perfdata) = parse_item(&label, item)? {
            into.insert(label, perfdata);
        }
    }
}

/// The label (unquoted) and what follows its `=`.
fn read_label(text: &str) -> Result<(String, &str), String> {
    if let Some(quoted) = text.strip_prefix('\'') {
        let mut label = String::new();
        let mut rest = quoted;
        loop {
            let close = rest
                .find('\'')
                .ok_or_else(|| "a perfdata label without its closing quote".to_owned())?;
            label.push_str(&rest[..close]);
            rest = &rest[close + 1..];
            match rest.strip_prefix('\'') {
                Some(after_doubled) => {
                    label.push('\'');
                    rest = after_doubled;
                }
                None => break,
            }
        }
        let value = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("perfdata `{label}` has no `=`"))?;
        return Ok((label, value));
    }
    let eq = text
        .find('=')
        .ok_or_else(|| format!("perfdata `{}` has no `=`", first_word(text)))?;
    let label = &text[..eq];
    if label.is_empty() || label.contains(char::is_whitespace) {
        return Err(format!("perfdata `{}` has no label", first_word(text)));
    }
    Ok((label.to_owned(), &text[eq + 1..]))
}

/// `value[UOM];warn;crit;min;max`; `None` for an undetermined (`U`) value.
fn parse_item(label: &str, item: &str) -> Result<Option<Perfdata>, String> {
    let mut parts = item.split(';');
    let value_and_unit = parts.next().unwrap_or_default();
    if value_and_unit == "U" {
        return Ok(None);
    }
    let number_end = value_and_unit
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E' | ',')))
        .unwrap_or(value_and_unit.len());
    let (number, unit) = value_and_unit.split_at(number_end);
    let value = parse_number(number)
        .ok_or_else(|| format!("perfdata `{label}`: `{value_and_unit}` is not a number"))?;
    let range = |text: Option<&str>| text.filter(|t| !t.is_empty()).map(str::to_owned);
    let warn = range(parts.next());
    let crit = range(parts.next());
    let bound = |text: Option<&str>, which: &str| -> Result<Option<f64>, String> {
        match text.filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => parse_number(t)
                .map(Some)
                .ok_or_else(|| format!("perfdata `{label}`: {which} `{t}` is not a number")),
        }
    };
    let min = bound(parts.next(), "min")?;
    let max = bound(parts.next(), "max")?;
    Ok(Some(Perfdata {
        value,
        unit: unit.to_owned(),
        warn,
        crit,
        min,
        max,
    }))
}

/// A finite number; a decimal comma (some locales' plugins print one) is read as a point.
fn parse_number(text: &str) -> Option<f64> {
    text.replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

fn first_word(text: &str) -> &str {
    let word = text.split_whitespace().next().unwrap_or(text);
    match word.char_indices().nth(64) {
        Some((at, _)) => &word[..at],
        None => word,
    }
}

#[cfg(test)]
#[path = "nagios_tests.rs"]
mod tests;
