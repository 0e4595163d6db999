//! The samples waiting to be sent, bounded: when full, the oldest is dropped and
//! counted, so a receiver that is down for long costs a fixed amount of memory and the
//! newest data is what gets through when it comes back. A batch takes up to a number
//! of samples and groups those of one series into one `TimeSeries`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::proto::{Label, Sample, TimeSeries, WriteRequest};

/// One sample of one series. `labels` are sorted by name, `__name__` among them, and
/// shared by every queued sample of the series (see `series::Interner`), so a sample
/// costs the queue a few dozen bytes, not a copy of its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// The series.
    pub labels: Arc<[Label]>,
    /// The sample.
    pub sample: Sample,
}

/// A bounded FIFO of samples.
#[derive(Debug)]
pub struct SampleQueue {
    items: VecDeque<Queued>,
    capacity: usize,
    /// Samples dropped because the queue was full, since start.
    dropped: u64,
}

impl SampleQueue {
    /// A queue of at most `capacity` samples (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            items: VecDeque::with_capacity(capacity.min(65_536)),
            capacity,
            dropped: 0,
        }
    }

    /// Adds `item`, dropping (and counting) the oldest sample when full.
    pub fn push(&mut self, item: Queued) {
        if self.items.len() >= self.capacity {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(item);
    }

    /// Samples waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Samples dropped since start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The oldest `max` samples (at most), as one request: samples of one series
    /// grouped under its labels, series in the order first seen, samples in time order.
    /// Returns the request and how many samples it holds.
    pub fn take_batch(&mut self, max: usize) -> (WriteRequest, usize) {
        let count = self.items.len().min(max);
        let mut timeseries: Vec<TimeSeries> = Vec::new();
        let mut index: HashMap<Arc<[Label]>, usize> = HashMap::new();
        for item in self.items.drain(..count) {
            match index.get(&item.labels) {
                Some(&at) => timeseries[at].samples.push(item.sample),
                None => {
                    index.insert(item.labels.clone(), timeseries.len());
                    timeseries.push(TimeSeries {
                        labels: item.labels.to_vec(),
                        samples: vec![item.sample],
                    });
                }
            }
        }
        (WriteRequest { timeseries }, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, t: i64) -> Queued {
        Queued {
            labels: vec![Label {
                name: "__name__".into(),
                value: name.into(),
            }]
            .into(),
            sample: Sample {
                value: t as f64,
                timestamp: t,
            },
        }
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts() {
        let mut queue = SampleQueue::new(3);
        for t in 0..5 {
            queue.push(item("a", t));
        }
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.dropped(), 2);
        let (request, n) = queue.take_batch(10);
        assert_eq!(n, 3);
        let times: Vec<i64> = request.timeseries[0]
            .samples
            .iter()
            .map(|s| s.timestamp)
            .collect();
        assert_eq!(times, [2, 3, 4]);
    }

    #[test]
    fn a_batch_is_bounded_and_groups_series() {
        let mut queue = SampleQueue::new(100);
        for t in 0..3 {
            queue.push(item("a", t));
            queue.push(item("b", t));
        }
        let (request, n) = queue.take_batch(5);
        assert_eq!(n, 5);
        assert_eq!(queue.len(), 1);
        let shape: Vec<(String, usize)> = request
            .timeseries
            .iter()
            .map(|s| (s.labels[0].value.clone(), s.samples.len()))
            .collect();
        assert_eq!(shape, [("a".into(), 3), ("b".into(), 2)]);
        let (rest, n) = queue.take_batch(5);
        assert_eq!((n, rest.timeseries[0].samples[0].timestamp), (1, 2));
        assert!(queue.is_empty());
    }
}
