//! What a history request asks for, checked once for both ways in: the query string of
//! `GET /api/series|query|events|processes` and the fields of a WebSocket `query`
//! message. Every limit a caller could push is bounded here, before the store sees it.

use crate::pipeline::wire::excerpt;
use crate::store::Span;
use crate::surfaces::lookback::times::parse_time;

/// Points per series when the request does not say.
pub const DEFAULT_POINTS: usize = 1000;
/// Most points per series.
pub const MAX_POINTS: usize = 10_000;
/// Most series in one query.
pub const MAX_SERIES: usize = 64;
/// The span when `from` is not given: the last hour before `to`.
pub const DEFAULT_SPAN_MS: i64 = 3_600_000;

/// The four history endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/api/series`: which series exist.
    Series,
    /// `/api/query`: points of one or more series.
    Query,
    /// `/api/events`: the timeline's events.
    Events,
    /// `/api/processes`: the top processes at a moment.
    Processes,
}

impl Endpoint {
    /// The endpoint a WebSocket `query`'s `what` names.
    pub fn named(what: &str) -> Option<Self> {
        Some(match what {
            "series" => Self::Series,
            "query" => Self::Query,
            "events" => Self::Events,
            "processes" => Self::Processes,
            _ => return None,
        })
    }

    /// Its name in a WebSocket `query`'s `what` and `query_result`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Series => "series",
            Self::Query => "query",
            Self::Events => "events",
            Self::Processes => "processes",
        }
    }

    /// The parameters it takes, for the error that names an unknown one.
    fn takes(self) -> &'static [&'static str] {
        match self {
            Self::Series => &["host", "prefix"],
            Self::Query => &["host", "series", "from", "to", "points"],
            Self::Events => &["host", "from", "to"],
            Self::Processes => &["host", "at"],
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Series => "/api/series",
            Self::Query => "/api/query",
            Self::Events => "/api/events",
            Self::Processes => "/api/processes",
        }
    }
}

/// A checked request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Series of `host` whose names start with `prefix`.
    Series { host: String, prefix: String },
    /// `series` of `host` over `span` in at most `points` points each.
    Query {
        host: String,
        series: Vec<String>,
        span: Span,
        points: usize,
    },
    /// Events over `span`, of `host` or (`None`, `host=*`) of every host.
    Events { host: Option<String>, span: Span },
    /// The top processes of `host` at `at_ms`.
    Processes { host: String, at_ms: i64 },
}

/// Checks `params` for `endpoint`; `now_ms` is now, for relative times and defaults.
/// `host` absent or empty is this server.
pub fn parse(
    endpoint: Endpoint,
    params: &[(String, String)],
    now_ms: i64,
) -> Result<Request, String> {
    let single = |key: &str| -> Result<Option<&str>, String> {
        let mut values = params
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(format!("`{key}` is given more than once"));
        }
        Ok(first)
    };
    if let Some((unknown, _)) = params
        .iter()
        .find(|(k, _)| !endpoint.takes().contains(&k.as_str()))
    {
        return Err(format!(
            "unknown parameter `{}`: {} takes {}",
            excerpt(unknown),
            endpoint.path(),
            endpoint
                .takes()
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let host = single("host")?.unwrap_or_default().to_owned();
    let time = |key: &str, value: Option<&str>, default: i64| match value {
        Some(text) => parse_time(key, text, now_ms),
        None => Ok(default),
    };
    Ok(match endpoint {
        Endpoint::Series => Request::Series {
            host,
            prefix: single("prefix")?.unwrap_or_default().to_owned(),
        },
        Endpoint::Processes => Request::Processes {
            host,
            at_ms: time("at", single("at")?, now_ms)?,
        },
        Endpoint::Events => Request::Events {
            host: (host != "*").then_some(host),
            span: span(single("from")?, single("to")?, now_ms)?,
        },
        Endpoint::Query => {
            let series: Vec<String> = params
                .iter()
                .filter(|(k, _)| k == "series")
                .map(|(_, v)| v.trim().to_owned())
                .collect();
            if series.is_empty() || series.iter().any(String::is_empty) {
                return Err(
                    "`series` must name a series, e.g. `series=memory.percentage` \
                            (see /api/series)"
                        .into(),
                );
            }
            if series.len() > MAX_SERIES {
                return Err(format!(
                    "at most {MAX_SERIES} `series` in one query, got {}",
                    series.len()
                ));
            }
            let points = match single("points")? {
                None => DEFAULT_POINTS,
                Some(text) => text
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_POINTS).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "`points` must be a whole number from 1 to {MAX_POINTS}, got `{}`",
                            excerpt(text)
                        )
                    })?,
            };
            Request::Query {
                host,
                series,
                span: span(single("from")?, single("to")?, now_ms)?,
                points,
            }
        }
    })
}

/// `from` and `to` (defaults: an hour ago and now), `from` before `to`.
fn span(from: Option<&str>, to: Option<&str>, now_ms: i64) -> Result<Span, String> {
    let to_ms = match to {
        Some(text) => parse_time("to", text, now_ms)?,
        None => now_ms,
    };
    let from_ms = match from {
        Some(text) => parse_time("from", text, now_ms)?,
        None => to_ms - DEFAULT_SPAN_MS,
    };
    if from_ms >= to_ms {
        return Err(format!(
            "`from` must be before `to` (got {} s and {} s since the epoch)",
            from_ms as f64 / 1000.0,
            to_ms as f64 / 1000.0
        ));
    }
    Ok(Span { from_ms, to_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_765_085_316_500;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_query_defaults_to_the_last_hour_in_a_thousand_points() {
        let request = parse(
            Endpoint::Query,
            &params(&[("series", "memory.percentage")]),
            NOW,
        );
        assert_eq!(
            request,
            Ok(Request::Query {
                host: String::new(),
                series: vec!["memory.percentage".into()],
                span: Span {
                    from_ms: NOW - 3_600_000,
                    to_ms: NOW
                },
                points: 1000,
            })
        );
    }

    #[test]
    fn several_series_keep_their_order() {
        let p = params(&[
            ("series", "b"),
            ("series", "a"),
            ("from", "-7d"),
            ("points", "60"),
        ]);
        let Ok(Request::Query {
            series,
            span,
            points,
            ..
        }) = parse(Endpoint::Query, &p, NOW)
        else {
            panic!("valid");
        };
        assert_eq!(series, ["b", "a"]);
        assert_eq!(span.from_ms, NOW - 7 * 86_400_000);
        assert_eq!(points, 60);
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        type Case<'a> = (Endpoint, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (Endpoint::Query, &[], "`series` must name a series"),
            (
                Endpoint::Query,
                &[("series", "a"), ("points", "0")],
                "`points` must be",
            ),
            (
                Endpoint::Query,
                &[("series", "a"), ("points", "100001")],
                "`points` must be",
            ),
            (
                Endpoint::Query,
                &[("series", "a"), ("from", "-1h"), ("to", "-2h")],
                "before `to`",
            ),
            (
                Endpoint::Query,
                &[("series", "a"), ("to", "x"), ("to", "y")],
                "more than once",
            ),
            (
                Endpoint::Events,
                &[("count", "3")],
                "unknown parameter `count`",
            ),
            (
                Endpoint::Processes,
                &[("at", "tuesday")],
                "`at` must be a time",
            ),
        ];
        for (endpoint, pairs, expected) in cases {
            let err = parse(*endpoint, &params(pairs), NOW).expect_err(expected);
            assert!(err.contains(expected), "{err}");
        }
        let many: Vec<(String, String)> = (0..=MAX_SERIES)
            .map(|i| ("series".to_owned(), format!("s{i}")))
            .collect();
        assert!(parse(Endpoint::Query, &many, NOW).is_err());
    }

    #[test]
    fn events_of_every_host_with_a_star() {
        let Ok(Request::Events { host, .. }) =
            parse(Endpoint::Events, &params(&[("host", "*")]), NOW)
        else {
            panic!("valid");
        };
        assert_eq!(host, None);
        let Ok(Request::Events { host, .. }) = parse(Endpoint::Events, &[], NOW) else {
            panic!("valid");
        };
        assert_eq!(host.as_deref(), Some(""));
    }
}
