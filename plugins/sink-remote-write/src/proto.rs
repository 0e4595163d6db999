//! Prometheus remote write 1.0's request body: a `WriteRequest` protobuf (the subset
//! of `prometheus/prompb/remote.proto` and `types.proto` that 1.0 senders fill),
//! compressed with snappy's block format (not its framed format), as the spec says.
//!
//! The messages are derived with `prost`, so no `protoc` is needed; the field numbers
//! are the spec's.

use prost::Message;

/// `prometheus.WriteRequest`. Field 3 (metadata) is optional in 1.0 and left out.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    /// The series and their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`: labels sorted by name, `__name__` among them, and samples
/// in time order.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// The labels.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// The samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Message)]
pub struct Label {
    /// Its name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The HTTP body of `request`: protobuf, snappy-compressed.
pub fn encode(request: &WriteRequest) -> Result<Vec<u8>, snap::Error> {
    snap::raw::Encoder::new().compress_vec(&request.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, value: &str) -> Label {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn a_body_decodes_back_with_the_same_crates() {
        let request = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![
                    label("__name__", "node_load1"),
                    label("instance", "web-1"),
                    label("job", "monitoring"),
                ],
                samples: vec![
                    Sample {
                        value: 0.21,
                        timestamp: 1_700_000_000_000,
                    },
                    Sample {
                        value: 0.25,
                        timestamp: 1_700_000_000_500,
                    },
                ],
            }],
        };
        let body = encode(&request).expect("encodes");
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&body)
            .expect("snappy block format");
        assert_eq!(
            WriteRequest::decode(raw.as_slice()).expect("protobuf"),
            request
        );
        // The block format has no stream identifier chunk (the framed format starts
        // with 0xff "sNaPpY"); receivers reject the framed one.
        assert_ne!(body.first(), Some(&0xff));
    }

    #[test]
    fn field_numbers_are_the_specs() {
        // Sample{value=1.0 (field 1, fixed64), timestamp=2 (field 2, varint)}
        let sample = Sample {
            value: 1.0,
            timestamp: 2,
        };
        let bytes = sample.encode_to_vec();
        assert_eq!(bytes[0], 0x09, "field 1, wire type 1 (64-bit)");
        assert_eq!(&bytes[9..], &[0x10, 0x02], "field 2, varint 2");
        let bytes = label("a", "b").encode_to_vec();
        assert_eq!(bytes, [0x0a, 1, b'a', 0x12, 1, b'b']);
    }
}
