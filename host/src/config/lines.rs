//! Where in the file a value is written: the 1-based line of a byte offset or of a
//! dotted key, and the dotted key of a line, so every error can name line and key.

/// 1-based line of a byte offset.
pub(super) fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |head| head.matches('\n').count() + 1)
}

/// `table.key` for the `key = value` on 1-based `line`, from the nearest table
/// header above it.
pub(super) fn dotted_key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let own = lines.get(line.checked_sub(1)?)?.trim();
    let (key, _) = own.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || own.starts_with('[') || own.starts_with('#') {
        return None;
    }
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|header| {
            header
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned()
        });
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key.to_owned(),
    })
}

/// The 1-based line where the file writes `dotted` (`table.key`): `key = ` inside
/// `[table]`, `table.key = ` outside any table, or `key = ` in an inline
/// `table = { … }`; quotes around key parts are allowed. 0 when it is not written.
pub(super) fn line_of_key(text: &str, dotted: &str) -> usize {
    let Some((table, key)) = dotted.rsplit_once('.') else {
        return 0;
    };
    let unquote = |part: &str| {
        part.trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_owned()
    };
    let dotted_of = |left: &str| left.split('.').map(unquote).collect::<Vec<_>>().join(".");
    let mut current = String::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            current = dotted_of(trimmed.trim_matches(|c| c == '[' || c == ']'));
            continue;
        }
        let Some((left, right)) = trimmed.split_once('=') else {
            continue;
        };
        let written = match current.as_str() {
            "" => dotted_of(left),
            table => format!("{table}.{}", dotted_of(left)),
        };
        if written == dotted {
            return index + 1;
        }
        // `table = { key = value, … }` on one line.
        let inline = right.trim_start();
        if written == table && inline.starts_with('{') {
            let listed = inline
                .trim_matches(|c| c == '{' || c == '}')
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .any(|(name, _)| dotted_of(name) == key);
            if listed {
                return index + 1;
            }
        }
    }
    0
}
