//! Which `permessage-deflate` offer (RFC 7692, section 5) a client's
//! `Sec-WebSocket-Extensions` makes that this server accepts, and the answer.
//!
//! The server compresses each tick's frame once for every client that negotiated the
//! extension, so what it can honour is fixed: no context takeover on its side (each
//! message compressed alone, the same bytes for everyone) and a 15-bit window (the
//! only one our deflate backend, miniz_oxide, writes). An offer that asks for a smaller
//! `server_max_window_bits` is declined (section 7.1.2.1), as is one with an unknown,
//! repeated or malformed parameter (section 7); the next offer is tried, and with none
//! left the connection goes on uncompressed.
//!
//! The answer always carries `client_no_context_takeover` (section 7.1.1.2 lets a
//! server require it): each message a client sends is then compressed alone and is
//! inflated with a decompressor made for that message and dropped after it, instead of
//! keeping a 32 KiB window and inflater state per connection for the connection's
//! life, ~45 KB that 10,000 idle dashboards would hold for a few small commands.
//! `client_max_window_bits` needs no answer: the inflater reads any window up to 15.

/// The extension's registered name.
const NAME: &str = "permessage-deflate";
/// The window our compressor writes, in bits.
const SERVER_WINDOW_BITS: u8 = 15;

/// The response for the first acceptable `permessage-deflate` offer among `headers`
/// (the values of every `Sec-WebSocket-Extensions` header), if there is one.
pub fn accept<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<String> {
    headers
        .into_iter()
        .flat_map(|value| value.split(','))
        .find_map(answer)
}

/// The answer to one offer (`name; param; param=value`), or `None` to decline it.
fn answer(offer: &str) -> Option<String> {
    let mut parts = offer.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case(NAME) {
        return None;
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut server_window = None;
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (part, None),
        };
        if seen.contains(&name) {
            return None; // Section 7: a parameter given twice declines the offer.
        }
        seen.push(name);
        match (name, value) {
            ("server_no_context_takeover" | "client_no_context_takeover", None) => {}
            ("server_max_window_bits", Some(bits)) => {
                let bits = window_bits(bits)?;
                if bits < SERVER_WINDOW_BITS {
                    return None; // A window we cannot keep to.
                }
                server_window = Some(bits);
            }
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(bits)) => {
                window_bits(bits)?;
            }
            _ => return None, // Unknown, or a value where none belongs (or none where one must be).
        }
    }
    let mut response = format!("{NAME}; server_no_context_takeover; client_no_context_takeover");
    if let Some(bits) = server_window {
        // Section 7.1.2.1: an accepted offer with the parameter is answered with it.
        response.push_str(&format!("; server_max_window_bits={bits}"));
    }
    Some(response)
}

/// A window size as RFC 7692 section 7.1.2 spells it: 8 to 15, digits only.
fn window_bits(text: &str) -> Option<u8> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 2 {
        return None;
    }
    text.parse().ok().filter(|bits| (8..=15).contains(bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str =
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

    #[test]
    fn what_browsers_and_python_websockets_offer_is_accepted() {
        for offer in [
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=12",
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; client_no_context_takeover",
            "Permessage-Deflate ;client_max_window_bits",
        ] {
            assert_eq!(accept([offer]).as_deref(), Some(ANSWER), "{offer}");
        }
        assert_eq!(
            accept(["permessage-deflate; server_max_window_bits=15"]).as_deref(),
            Some(&*format!("{ANSWER}; server_max_window_bits=15"))
        );
        assert_eq!(
            accept(["permessage-deflate; server_max_window_bits=\"15\""]).as_deref(),
            Some(&*format!("{ANSWER}; server_max_window_bits=15"))
        );
    }

    #[test]
    fn offers_it_cannot_honour_or_read_are_declined() {
        for offer in [
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=14",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=+9",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; mystery",
            "x-webkit-deflate-frame",
            "",
        ] {
            assert_eq!(accept([offer]), None, "{offer}");
        }
        assert_eq!(accept(std::iter::empty()), None);
    }

    #[test]
    fn the_first_acceptable_offer_wins() {
        // Autobahn 13.7's list: a small server window first, then plain ones.
        let offers = "permessage-deflate; server_no_context_takeover; server_max_window_bits=8, \
                      permessage-deflate; client_no_context_takeover, permessage-deflate";
        assert_eq!(accept([offers]).as_deref(), Some(ANSWER));
        // Across header lines too.
        assert_eq!(
            accept([
                "foo",
                "permessage-deflate; server_max_window_bits=9",
                "permessage-deflate"
            ])
            .as_deref(),
            Some(ANSWER)
        );
    }
}
