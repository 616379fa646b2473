//! Online log template mining: groups log messages into templates
//! (`Received block <*> of size <*> from <*>`), counts them, keeps a few examples
//! and first/last seen, and flags the ones that look like errors.
//!
//! # Why this design
//! The miner works from one default configuration for every log format: it has no
//! per-dataset regexes or thresholds, because the factory mines whatever logs a
//! project produces. Generic masking ([`tokenize`]) does most of the work; a
//! Drain-style similarity step ([`miner`]) handles the variables masking misses,
//! with two changes that matter in practice: a word only becomes a variable once
//! several distinct words were seen at that position (so `session opened` and
//! `session closed` stay apart), and messages with the same constants in the same
//! order share a template wherever their variables are. It is online (one pass,
//! each message placed when added) and the common case is a hash lookup, so it
//! keeps up with high-volume logs.
//!
//! On the LogHub 2k benchmark (see [`eval`]) the default configuration scores
//! above the published per-dataset-tuned Drain figures on HDFS, OpenSSH, Linux
//! and Proxifier.

mod cluster;
pub mod eval;
mod index;
pub mod loghub;
pub mod miner;
pub mod tokenize;

#[cfg(test)]
mod accuracy_tests;
#[cfg(test)]
mod tests;

pub use eval::{
    BenchReport, DRAIN_REFERENCE, bench_dataset, bench_loghub, bench_messages, grouping_accuracy,
};
pub use loghub::{load_loghub_structured, parse_csv};
pub use miner::LogMiner;

/// The miner's knobs. [`MinerConfig::default`] is the one configuration used
/// everywhere (benchmarks included); the fields exist to document the choices.
#[derive(Clone, Debug, PartialEq)]
pub struct MinerConfig {
    /// Share of constant tokens (same word at the same position, over the larger
    /// of the two counts) a message must have in common with a same-length
    /// template to join it; in (0, 1]. Sharing nothing never joins.
    pub similarity: f64,
    /// Distinct words needed at a position before it becomes a variable. Two
    /// alternatives are often an enum (`opened`/`closed`); three look like a value.
    pub min_variants: usize,
    /// Distinct raw messages kept per template.
    pub max_examples: usize,
    /// Bound on the remembered message shapes (the fast path's cache); the cache is
    /// cleared when it is full, which only costs speed.
    pub max_shapes: usize,
}

impl Default for MinerConfig {
    fn default() -> Self {
        MinerConfig {
            similarity: 0.7,
            min_variants: 3,
            max_examples: 3,
            max_shapes: 1 << 18,
        }
    }
}

/// A mined template and what was seen of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The id [`LogMiner::add`] returned when this template was created.
    pub id: usize,
    /// Tokens joined by a space, variables as `<*>` (a `key=` value stays attached:
    /// `uid=<*>`).
    pub text: String,
    /// Messages that joined this template (including templates merged into it).
    pub count: u64,
    /// The first few distinct raw messages, at most `max_examples`.
    pub examples: Vec<String>,
    /// Smallest and largest `seen` given to [`LogMiner::add_at`] (None if only
    /// [`LogMiner::add`] was used).
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

impl Template {
    pub(crate) fn new(id: usize) -> Self {
        Template {
            id,
            text: String::new(),
            count: 0,
            examples: Vec::new(),
            first_seen: None,
            last_seen: None,
        }
    }
}

/// Words that mark an error on their own (compared lowercased, as whole words).
const ERROR_WORDS: [&str; 24] = [
    "error",
    "errors",
    "err",
    "exception",
    "fail",
    "fails",
    "failed",
    "failing",
    "failure",
    "failures",
    "fatal",
    "panic",
    "panicked",
    "critical",
    "crit",
    "refused",
    "denied",
    "timeout",
    "abort",
    "aborted",
    "aborting",
    "segfault",
    "unreachable",
    "traceback",
];

/// Whether a message looks like an error: one of a few generic words (error,
/// exception, fail/failed/failure, fatal, panic, critical, refused, denied,
/// timeout, abort, segfault...), a word ending in `error` or `exception`
/// (`IOError`, `NullPointerException`), or the phrases "timed out", "could not",
/// "cannot", "unable to".
pub fn looks_like_error(message: &str) -> bool {
    let mut prev = String::new();
    let mut word = String::new();
    for w in message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        word.clear();
        word.extend(w.chars().map(|c| c.to_ascii_lowercase()));
        let hit = ERROR_WORDS.contains(&word.as_str())
            || (word.len() > "error".len() && word.ends_with("error"))
            || word.ends_with("exception")
            || word == "cannot"
            || matches!(
                (prev.as_str(), word.as_str()),
                ("timed", "out") | ("could", "not") | ("unable", "to")
            );
        if hit {
            return true;
        }
        std::mem::swap(&mut prev, &mut word);
    }
    false
}
