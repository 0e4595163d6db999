//! Picking the top N without sorting everything: a few hundred processes each tick, of
//! which ten are shown.

use std::cmp::Ordering;

/// The `n` items that `before` puts first, in that order. `before(a, b)` is
/// `Ordering::Less` when `a` ranks above `b`; give it a tie-break (the pid) so that the
/// list does not flicker between equals from one tick to the next.
pub fn top_n<T>(mut items: Vec<T>, n: usize, before: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    if n == 0 {
        return Vec::new();
    }
    if items.len() > n {
        items.select_nth_unstable_by(n - 1, &before);
        items.truncate(n);
    }
    items.sort_unstable_by(before);
    items
}

/// Busiest first; equal CPU by smaller pid.
pub fn by_cpu(a: &(u32, f64, u64), b: &(u32, f64, u64)) -> Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Largest resident memory first; equal memory by smaller pid.
pub fn by_memory(a: &(u32, f64, u64), b: &(u32, f64, u64)) -> Ordering {
    b.2.cmp(&a.2).then(a.0.cmp(&b.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (pid, cpu %, rss bytes)
    fn sample() -> Vec<(u32, f64, u64)> {
        vec![
            (10, 0.0, 500),
            (11, 99.5, 100),
            (12, 3.2, 9_000),
            (13, 150.0, 20),
            (14, 3.2, 9_000),
            (15, 0.1, 1),
        ]
    }

    fn pids(items: &[(u32, f64, u64)]) -> Vec<u32> {
        items.iter().map(|item| item.0).collect()
    }

    #[test]
    fn orders_by_cpu_then_pid() {
        assert_eq!(pids(&top_n(sample(), 3, by_cpu)), [13, 11, 12]);
        assert_eq!(pids(&top_n(sample(), 4, by_cpu)), [13, 11, 12, 14]);
    }

    #[test]
    fn orders_by_memory_then_pid() {
        assert_eq!(pids(&top_n(sample(), 3, by_memory)), [12, 14, 10]);
    }

    #[test]
    fn fewer_items_than_asked_are_all_returned_in_order() {
        assert_eq!(
            pids(&top_n(sample(), 10, by_memory)),
            [12, 14, 10, 11, 13, 15]
        );
        assert!(top_n(sample(), 0, by_cpu).is_empty());
        assert!(top_n(Vec::new(), 5, by_cpu).is_empty());
    }
}
