//! Chunk encoding: every column is a pcodec (`pco`) column; a chunk is its columns,
//! each after a 4-byte little-endian length, in an order fixed per kind below. That
//! order ("which pco column is which") is the only layout of our own.

use pco::standalone::{simple_compress, simple_decompress};
use pco::ChunkConfig;

/// A chunk that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("chunk: {0}")]
pub struct CodecError(String);

impl From<pco::errors::PcoError> for CodecError {
    fn from(error: pco::errors::PcoError) -> Self {
        CodecError(error.to_string())
    }
}

fn config() -> ChunkConfig {
    ChunkConfig::default()
}

fn push_column<T: pco::data_types::Number>(
    out: &mut Vec<u8>,
    values: &[T],
) -> Result<(), CodecError> {
    let column = simple_compress(values, &config())?;
    let len = u32::try_from(column.len()).map_err(|_| CodecError("column too long".into()))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&column);
    Ok(())
}

/// Reads the columns of a chunk one by one.
struct Columns<'a>(&'a [u8]);

impl Columns<'_> {
    fn next<T: pco::data_types::Number>(&mut self) -> Result<Vec<T>, CodecError> {
        let Some((len, rest)) = self.0.split_first_chunk::<4>() else {
            return Err(CodecError("truncated column length".into()));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(CodecError("truncated column".into()));
        }
        let (column, rest) = rest.split_at(len);
        self.0 = rest;
        Ok(simple_decompress(column)?)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One host's tick times (ms) in a sealed group: shared by all its series' chunks.
pub fn encode_times(times: &[i64]) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    push_column(&mut out, times)?;
    Ok(out)
}

pub fn decode_times(blob: &[u8]) -> Result<Vec<i64>, CodecError> {
    Columns(blob).next()
}

/// One series' ticks in a group: its values and, only when it missed some of the
/// group's ticks, the indexes (into the group's times) of those it has.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TickChunk {
    pub values: Vec<f64>,
    pub present: Option<Vec<u32>>,
}

impl TickChunk {
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        push_column(&mut out, &self.values)?;
        if let Some(present) = &self.present {
            push_column(&mut out, present)?;
        }
        Ok(out)
    }

    pub fn decode(blob: &[u8]) -> Result<Self, CodecError> {
        let mut columns = Columns(blob);
        let values = columns.next()?;
        let present = if columns.is_empty() {
            None
        } else {
            Some(columns.next()?)
        };
        if present.as_ref().is_some_and(|p| p.len() != values.len()) {
            return Err(CodecError("presence and values differ in length".into()));
        }
        Ok(TickChunk { values, present })
    }
}

/// One series' rollup rows in a group (minute or hour tier): the step index of each
/// row from the group's start, and min, avg, max and sample count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RollupChunk {
    pub steps: Vec<u32>,
    pub min: Vec<f64>,
    pub avg: Vec<f64>,
    pub max: Vec<f64>,
    pub count: Vec<u32>,
}

impl RollupChunk {
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        push_column(&mut out, &self.steps)?;
        push_column(&mut out, &self.min)?;
        push_column(&mut out, &self.avg)?;
        push_column(&mut out, &self.max)?;
        push_column(&mut out, &self.count)?;
        Ok(out)
    }

    pub fn decode(blob: &[u8]) -> Result<Self, CodecError> {
        let mut columns = Columns(blob);
        let chunk = RollupChunk {
            steps: columns.next()?,
            min: columns.next()?,
            avg: columns.next()?,
            max: columns.next()?,
            count: columns.next()?,
        };
        let n = chunk.steps.len();
        if [
            chunk.min.len(),
            chunk.avg.len(),
            chunk.max.len(),
            chunk.count.len(),
        ] != [n; 4]
        {
            return Err(CodecError("rollup columns differ in length".into()));
        }
        Ok(chunk)
    }
}

/// A pending tick's values in its layout's order: plain little-endian f64s, read
/// back by position without decompressing (pending rows live minutes; the sealed
/// chunk compresses them).
pub fn encode_pending(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The value at `index` of a pending tick, `None` past its end.
pub fn pending_value(blob: &[u8], index: usize) -> Option<f64> {
    let bytes = blob.get(index * 8..index * 8 + 8)?;
    Some(f64::from_le_bytes(bytes.try_into().ok()?))
}

/// A layout: the series ids of a pending tick's values, in order.
pub fn encode_layout(ids: &[u32]) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    push_column(&mut out, ids)?;
    Ok(out)
}

pub fn decode_layout(blob: &[u8]) -> Result<Vec<u32>, CodecError> {
    Columns(blob).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_chunks_round_trip_exactly() {
        let values = vec![
            37.1,
            37.1,
            37.2,
            0.0,
            -1.5,
            1e300,
            318170970.0,
            f64::MIN_POSITIVE,
        ];
        let full = TickChunk {
            values: values.clone(),
            present: None,
        };
        assert_eq!(
            TickChunk::decode(&full.encode().expect("encodes")).expect("decodes"),
            full
        );
        let sparse = TickChunk {
            values: values.clone(),
            present: Some((0..8).map(|i| i * 3).collect()),
        };
        assert_eq!(
            TickChunk::decode(&sparse.encode().expect("encodes")).expect("decodes"),
            sparse
        );
    }

    #[test]
    fn rollups_times_and_layouts_round_trip() {
        let rollup = RollupChunk {
            steps: vec![0, 1, 5],
            min: vec![1.0, 2.0, 3.0],
            avg: vec![1.5, 2.25, 3.125],
            max: vec![2.0, 2.5, 3.5],
            count: vec![120, 119, 1],
        };
        assert_eq!(
            RollupChunk::decode(&rollup.encode().expect("encodes")).expect("decodes"),
            rollup
        );
        let times: Vec<i64> = (0..600)
            .map(|i| 1_700_000_000_000 + i * 500 + i % 3)
            .collect();
        assert_eq!(
            decode_times(&encode_times(&times).expect("encodes")).expect("decodes"),
            times
        );
        let ids = vec![4, 9, 1, 77];
        assert_eq!(
            decode_layout(&encode_layout(&ids).expect("encodes")).expect("decodes"),
            ids
        );
        let pending = encode_pending(&[1.25, -3.0]);
        assert_eq!(pending_value(&pending, 1), Some(-3.0));
        assert_eq!(pending_value(&pending, 2), None);
    }

    #[test]
    fn damaged_chunks_are_errors() {
        let blob = TickChunk {
            values: vec![1.0; 10],
            present: None,
        }
        .encode()
        .expect("encodes");
        assert!(TickChunk::decode(&blob[..blob.len() - 3]).is_err());
        assert!(RollupChunk::decode(&blob).is_err());
    }
}
