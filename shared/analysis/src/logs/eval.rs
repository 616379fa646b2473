//! Measuring the miner: LogHub's grouping accuracy, and a benchmark that reports
//! accuracy and throughput on a labelled data set. The scoring and timing work on
//! messages in memory; [`bench_loghub`] is the thin layer that reads the files.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::hint::black_box;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use super::loghub::load_loghub_structured;
use super::{LogMiner, MinerConfig};

/// The LogHub 2k data sets the miner is measured on, with the grouping accuracy
/// Drain scores on each when tuned per data set (the published reference).
pub const DRAIN_REFERENCE: [(&str, f64); 4] = [
    ("HDFS", 0.9975),
    ("OpenSSH", 0.7875),
    ("Linux", 0.69),
    ("Proxifier", 0.5265),
];

/// LogHub/logparser grouping accuracy: the share of messages whose predicted group
/// holds exactly the messages of their true group. `predicted[i]` and `truth[i]`
/// are the group labels of message i. An empty input scores 1.
///
/// # Panics
/// If the two slices differ in length (a caller bug, not a data problem).
pub fn grouping_accuracy<P: Eq + Hash, T: Eq + Hash>(predicted: &[P], truth: &[T]) -> f64 {
    assert_eq!(
        predicted.len(),
        truth.len(),
        "one predicted and one true label per message"
    );
    if truth.is_empty() {
        return 1.0;
    }
    let mut true_sizes: HashMap<&T, usize> = HashMap::new();
    for t in truth {
        *true_sizes.entry(t).or_default() += 1;
    }
    // predicted group -> (size, its first true label, whether all labels agree)
    let mut groups: HashMap<&P, (usize, &T, bool)> = HashMap::new();
    for (p, t) in predicted.iter().zip(truth) {
        let g = groups.entry(p).or_insert((0, t, true));
        g.0 += 1;
        g.2 &= g.1 == t;
    }
    let correct: usize = groups
        .values()
        .filter(|(size, t, pure)| *pure && true_sizes.get(t) == Some(size))
        .map(|(size, _, _)| size)
        .sum();
    correct as f64 / truth.len() as f64
}

/// What [`bench_messages`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchReport {
    pub name: String,
    /// Distinct messages in the data set.
    pub messages: usize,
    /// Templates mined from one pass over them.
    pub templates: usize,
    /// Grouping accuracy of that pass.
    pub accuracy: f64,
    /// Lines fed to the warm miner for timing, and how long they took.
    pub lines: u64,
    pub elapsed: Duration,
}

impl BenchReport {
    pub fn lines_per_sec(&self) -> f64 {
        self.lines as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Drain's published accuracy on this data set, if it is one of LogHub's.
    pub fn drain_reference(&self) -> Option<f64> {
        DRAIN_REFERENCE
            .iter()
            .find(|(n, _)| *n == self.name)
            .map(|(_, a)| *a)
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<10} accuracy {:.4}", self.name, self.accuracy)?;
        if let Some(d) = self.drain_reference() {
            write!(f, " (Drain {d:.4})")?;
        }
        write!(
            f,
            "  templates {:>4}  {:>10.0} lines/s ({} lines in {:.3} s)",
            self.templates,
            self.lines_per_sec(),
            self.lines,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Mines `data` (`(content, true group)` pairs) once with the default
/// configuration to score it, then times `repetitions` more passes through the
/// same, warm miner.
pub fn bench_messages<S: AsRef<str>, L: Eq + Hash>(
    name: &str,
    data: &[(S, L)],
    repetitions: usize,
) -> BenchReport {
    let mut miner = LogMiner::new(MinerConfig::default());
    let ids: Vec<usize> = data.iter().map(|(m, _)| miner.add(m.as_ref())).collect();
    let predicted: Vec<usize> = ids.into_iter().map(|id| miner.resolve(id)).collect();
    let truth: Vec<&L> = data.iter().map(|(_, l)| l).collect();
    let accuracy = grouping_accuracy(&predicted, &truth);
    let templates = miner.len();
    let start = Instant::now();
    for _ in 0..repetitions {
        for (m, _) in data {
            black_box(miner.add(black_box(m.as_ref())));
        }
    }
    BenchReport {
        name: name.to_owned(),
        messages: data.len(),
        templates,
        accuracy,
        lines: (data.len() * repetitions) as u64,
        elapsed: start.elapsed(),
    }
}

/// [`bench_messages`] on LogHub data set `name` (`HDFS`, `OpenSSH`...), read from
/// `<dir>/<name>/<name>_2k.log_structured.csv`. With `repetitions` = 500 the
/// throughput is measured over one million lines.
pub fn bench_dataset(dir: &Path, name: &str, repetitions: usize) -> io::Result<BenchReport> {
    let path = dir.join(name).join(format!("{name}_2k.log_structured.csv"));
    let data = load_loghub_structured(&path)?;
    Ok(bench_messages(name, &data, repetitions))
}

/// [`bench_dataset`] on each data set of [`DRAIN_REFERENCE`].
pub fn bench_loghub(dir: &Path, repetitions: usize) -> io::Result<Vec<BenchReport>> {
    DRAIN_REFERENCE
        .iter()
        .map(|(name, _)| bench_dataset(dir, name, repetitions))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_grouping_scores_one() {
        assert_eq!(grouping_accuracy(&[1, 1, 2, 3], &["a", "a", "b", "c"]), 1.0);
        // label names do not matter, only the partition
        assert_eq!(grouping_accuracy(&["x", "y", "y"], &[7, 9, 9]), 1.0);
        assert_eq!(grouping_accuracy::<u8, u8>(&[], &[]), 1.0);
    }

    #[test]
    fn a_split_group_is_wrong_everywhere_it_went() {
        // true group a (4 messages) split in two: all four wrong; b right
        let acc = grouping_accuracy(&[1, 1, 2, 2, 3], &["a", "a", "a", "a", "b"]);
        assert!((acc - 0.2).abs() < 1e-12);
    }

    #[test]
    fn merged_groups_are_all_wrong() {
        // a and b merged into 1: their three messages wrong; c right
        let acc = grouping_accuracy(&[1, 1, 1, 2], &["a", "a", "b", "c"]);
        assert!((acc - 0.25).abs() < 1e-12);
    }

    #[test]
    #[should_panic(expected = "one predicted and one true label")]
    fn lengths_must_agree() {
        grouping_accuracy(&[1, 2], &[1]);
    }

    #[test]
    fn bench_reports_accuracy_and_lines() {
        let data = [
            ("connected to 10.0.0.1 port 22", "E1"),
            ("connected to 10.0.0.2 port 23", "E1"),
            ("disk full on /dev/sda1", "E2"),
        ];
        let r = bench_messages("toy", &data, 2);
        assert_eq!((r.messages, r.templates, r.lines), (3, 2, 6));
        assert_eq!(r.accuracy, 1.0);
        assert_eq!(r.drain_reference(), None);
        assert!(r.to_string().starts_with("toy"));
    }
}
