//! What a gateway reads of a published frame, in one pass over its bytes.
//!
//! A fleet of 2,000 hosts at 2 Hz sends 4,000 frames a second. Building each frame's
//! whole JSON tree to read the six numbers of its tile would take most of a core, so
//! a frame is read once, into [`Published`], with its `data` either as the tree
//! (`Value`, for the frames that go into the history) or as the tile's numbers alone
//! ([`Summary`]), read by visitors that skip everything else without allocating.
//!
//! Those visitors never fail on a shape they do not expect (a string where a number
//! was, an array for a section, a section missing): that number is absent, exactly as
//! it would be when read from the tree. A frame is refused only when it is not JSON
//! or its envelope (`timestamp`, `alerts`, `tags`, `group`) is wrong.

use std::fmt;

use monitoring_plugin_api::Alert;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::fleet::summaries::Summary;

/// The parts of a published `monitoring_data` message the gateway reads; `D` is how
/// much of `data`: `serde_json::Value` or [`Summary`].
#[derive(Debug, Deserialize)]
pub struct Published<D> {
    /// The snapshot's time on its host.
    pub timestamp: String,
    /// The sections.
    #[serde(default)]
    pub data: D,
    /// Alerts active on the host.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// The host's `[fleet] tags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The host's `[fleet] group`.
    #[serde(default)]
    pub group: Option<String>,
}

impl<D> Published<D> {
    /// The same frame with `data` read as something else.
    pub fn with_data<E>(self, data: E) -> Published<E> {
        Published {
            timestamp: self.timestamp,
            data,
            alerts: self.alerts,
            tags: self.tags,
            group: self.group,
        }
    }
}

/// The sections a tile reads, in the order of [`Data::visit_map`]'s match.
const SECTIONS: &[&str] = &["processor", "memory", "disk", "disks", "load", "network"];

impl<'de> Deserialize<'de> for Summary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Data)
    }
}

/// The scalar and list cases of a lenient visitor: no numbers here, nothing wrong.
macro_rules! nothing_else {
    ($empty:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($empty)
        }
    };
}

/// A frame's `data`: the six numbers of a tile, the rest skipped.
struct Data;

impl<'de> Visitor<'de> for Data {
    type Value = Summary;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a frame's data")
    }

    nothing_else!(Summary::default());

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Summary, A::Error> {
        drain_seq(seq, Summary::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Summary, A::Error> {
        let mut summary = Summary::default();
        let (mut disk, mut disks) = (None, None);
        while let Some(section) = map.next_key_seed(KeyIn(SECTIONS))? {
            match section {
                Some(0) => {
                    [summary.cpu_percent] = map.next_value_seed(Fields(["usage_percent"]))?
                }
                Some(1) => {
                    [summary.memory_percent] = map.next_value_seed(Fields(["percentage"]))?
                }
                Some(2) => [disk] = map.next_value_seed(Fields(["percentage"]))?,
                Some(3) => disks = map.next_value_seed(Fullest)?,
                Some(4) => [summary.load1] = map.next_value_seed(Fields(["load1"]))?,
                Some(5) => {
                    [summary.rx_bytes_per_sec, summary.tx_bytes_per_sec] =
                        map.next_value_seed(Fields(["rx_bytes_per_sec", "tx_bytes_per_sec"]))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        summary.worst_disk_percent = disk.into_iter().chain(disks).reduce(f64::max);
        Ok(summary)
    }
}

/// The numbers under `N` names of one section; any other shape has none.
struct Fields<const N: usize>([&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for Fields<N> {
    type Value = [Option<f64>; N];

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Fields<N> {
    type Value = [Option<f64>; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a section")
    }

    nothing_else!([None; N]);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq, [None; N])
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut numbers = [None; N];
        while let Some(field) = map.next_key_seed(KeyIn(&self.0))? {
            match field.and_then(|index| numbers.get_mut(index)) {
                Some(slot) => *slot = map.next_value::<Number>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(numbers)
    }
}

/// `disks`: the fullest `percentage` of its elements.
struct Fullest;

impl<'de> DeserializeSeed<'de> for Fullest {
    type Value = Option<f64>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Fullest {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of disks")
    }

    nothing_else!(None);

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map, None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut fullest: Option<f64> = None;
        while let Some([percentage]) = seq.next_element_seed(Fields(["percentage"]))? {
            fullest = fullest.into_iter().chain(percentage).reduce(f64::max);
        }
        Ok(fullest)
    }
}

/// A number, or `None` for any other value (skipped).
struct Number(Option<f64>);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Number, E> {
        Ok(Number(None))
    }
    // Counters as large as u64 become the nearest f64, as `Value::as_f64` reads them.
    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E>(self, value: i64) -> Result<Number, E> {
        Ok(Number(Some(value as f64)))
    }
    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E>(self, value: u64) -> Result<Number, E> {
        Ok(Number(Some(value as f64)))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Number, E> {
        Ok(Number(Some(value).filter(|v| v.is_finite())))
    }
    fn visit_str<E>(self, _: &str) -> Result<Number, E> {
        Ok(Number(None))
    }
    fn visit_unit<E>(self) -> Result<Number, E> {
        Ok(Number(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Number, A::Error> {
        drain_seq(seq, Number(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Number, A::Error> {
        drain_map(map, Number(None))
    }
}

/// Skips a list that holds nothing wanted.
fn drain_seq<'de, A: SeqAccess<'de>, T>(mut seq: A, empty: T) -> Result<T, A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(empty)
}

/// Skips a map that holds nothing wanted.
fn drain_map<'de, A: MapAccess<'de>, T>(mut map: A, empty: T) -> Result<T, A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(empty)
}

/// A map key: its index among the wanted names, or `None`, without allocating (keys
/// with escapes arrive as a transient `&str`, which is compared, not kept).
struct KeyIn<'a>(&'a [&'static str]);

impl<'de> DeserializeSeed<'de> for KeyIn<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIn<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|name| *name == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Both readings of one frame: from its text, and from its tree.
    fn both(data: &Value) -> (Summary, Summary) {
        let text = json!({"timestamp": "t", "data": data}).to_string();
        let lean: Published<Summary> = serde_json::from_str(&text).expect("read");
        (lean.data, Summary::of(data))
    }

    #[test]
    fn the_text_and_the_tree_read_the_same_numbers() {
        let data = json!({
            "processor": {"usage_percent": 12.5, "per_core": [1.0, 2.0], "frequency": {"x": 1}},
            "memory": {"percentage": 40, "total": 17_179_869_184_u64},
            "disk": {"percentage": 10.0},
            "disks": [{"percentage": 10.0, "mount": "/"}, {"percentage": 93.5}, "odd", 7],
            "load": {"load1": 0.25, "load5": 1.0},
            "network": {"rx_bytes_per_sec": 1000, "tx_bytes_per_sec": 20.5, "interfaces": {"eth0": {}}},
            "gpu": {"gpus": [{"usage_percent": 99.0}]},
        });
        let (lean, tree) = both(&data);
        assert_eq!(lean, tree);
        assert_eq!(lean.cpu_percent, Some(12.5));
        assert_eq!(lean.memory_percent, Some(40.0));
        assert_eq!(lean.worst_disk_percent, Some(93.5));
        assert_eq!(lean.load1, Some(0.25));
        assert_eq!(lean.rx_bytes_per_sec, Some(1000.0));
        assert_eq!(lean.tx_bytes_per_sec, Some(20.5));
    }

    #[test]
    fn odd_shapes_are_absent_numbers_never_a_refused_frame() {
        for data in [
            json!({"processor": "busy", "memory": [1, 2], "disk": null, "disks": {"a": 1}}),
            json!({"processor": {"usage_percent": "12"}, "memory": {"percentage": {"v": 1}}}),
            json!({"load": {"load1": [0.5]}, "network": true, "disks": [[{"percentage": 1}]]}),
            json!([1, 2, 3]),
            json!("text"),
            json!(null),
        ] {
            let (lean, tree) = both(&data);
            assert_eq!(lean, tree, "{data}");
            assert_eq!(lean, Summary::default(), "{data}");
        }
    }

    #[test]
    fn a_frame_without_data_or_with_escaped_keys_still_reads() {
        let bare: Published<Summary> =
            serde_json::from_str(r#"{"timestamp":"t"}"#).expect("no data");
        assert_eq!(bare.data, Summary::default());
        let escaped: Published<Summary> = serde_json::from_str(
            r#"{"timestamp":"t","data":{"proc\u0065ssor":{"usage_percent":5}}}"#,
        )
        .expect("escaped key");
        assert_eq!(escaped.data.cpu_percent, Some(5.0));
        assert!(serde_json::from_str::<Published<Summary>>(r#"{"data":{}}"#).is_err());
        assert!(
            serde_json::from_str::<Published<Summary>>(r#"{"timestamp":"t","alerts":3}"#).is_err()
        );
    }
}
