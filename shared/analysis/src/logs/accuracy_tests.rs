//! The miner against LogHub's labelled 2k samples, with the one default
//! configuration: it must beat Drain's published (per-data-set tuned) grouping
//! accuracy on each. The data lives outside the repository, next to it.

use std::path::{Path, PathBuf};

use super::eval::DRAIN_REFERENCE;
use super::{LogMiner, grouping_accuracy, load_loghub_structured};

const LOGHUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/loghub");

fn dataset(name: &str) -> PathBuf {
    let dir = Path::new(LOGHUB);
    assert!(
        dir.is_dir(),
        "the LogHub data is needed at ../shared/data/loghub next to the workspace ({}); \
         it holds <Name>/<Name>_2k.log_structured.csv for HDFS, OpenSSH, Linux and Proxifier",
        dir.display()
    );
    dir.join(name).join(format!("{name}_2k.log_structured.csv"))
}

fn accuracy(name: &str) -> f64 {
    let path = dataset(name);
    let data =
        load_loghub_structured(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert_eq!(data.len(), 2000, "{name}: a 2k sample");
    let mut miner = LogMiner::default();
    let ids: Vec<usize> = data.iter().map(|(content, _)| miner.add(content)).collect();
    let predicted: Vec<usize> = ids.iter().map(|&id| miner.resolve(id)).collect();
    let truth: Vec<&str> = data.iter().map(|(_, event)| event.as_str()).collect();
    grouping_accuracy(&predicted, &truth)
}

fn beats_drain(name: &str) {
    let drain = DRAIN_REFERENCE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, a)| *a)
        .unwrap_or(1.0);
    let acc = accuracy(name);
    eprintln!("{name}: grouping accuracy {acc:.4} (Drain {drain:.4})");
    assert!(
        acc > drain,
        "{name}: grouping accuracy {acc:.4} does not beat Drain's {drain:.4}"
    );
}

#[test]
fn beats_drain_on_hdfs() {
    beats_drain("HDFS");
}

#[test]
fn beats_drain_on_openssh() {
    beats_drain("OpenSSH");
}

#[test]
fn beats_drain_on_linux() {
    beats_drain("Linux");
}

#[test]
fn beats_drain_on_proxifier() {
    beats_drain("Proxifier");
}

#[test]
fn accuracy_does_not_depend_on_line_order() {
    // Reversed input: the online miner must not rely on seeing lines in log order.
    for (name, drain) in DRAIN_REFERENCE {
        let path = dataset(name);
        let data = load_loghub_structured(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let mut miner = LogMiner::default();
        let ids: Vec<usize> = data
            .iter()
            .rev()
            .map(|(content, _)| miner.add(content))
            .collect();
        let predicted: Vec<usize> = ids.iter().map(|&id| miner.resolve(id)).collect();
        let truth: Vec<&str> = data.iter().rev().map(|(_, event)| event.as_str()).collect();
        let acc = grouping_accuracy(&predicted, &truth);
        assert!(acc > drain, "{name} reversed: {acc:.4} vs Drain {drain:.4}");
    }
}
