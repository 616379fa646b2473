//! Unit tests of the miner on small synthetic logs.

use super::*;

fn mine(lines: &[&str]) -> (LogMiner, Vec<usize>) {
    let mut m = LogMiner::default();
    let ids = lines.iter().map(|l| m.add(l)).collect();
    (m, ids)
}

#[test]
fn variables_become_wildcards() {
    let (m, ids) = mine(&[
        "connected to 10.0.0.1 port 22",
        "connected to 10.0.0.2 port 23",
    ]);
    assert_eq!(ids[0], ids[1]);
    assert_eq!(m.len(), 1);
    let t = m.template(ids[0]);
    assert_eq!(t.text, "connected to <*> port <*>");
    assert_eq!(t.count, 2);
    assert_eq!(
        t.examples,
        [
            "connected to 10.0.0.1 port 22",
            "connected to 10.0.0.2 port 23"
        ]
    );
}

#[test]
fn different_messages_get_different_templates() {
    let (m, ids) = mine(&[
        "connected to 10.0.0.1 port 22",
        "disk full on /dev/sda1",
        "connected to 10.0.0.9 port 80",
        "session opened for user alice",
        "session closed for user alice",
    ]);
    assert_eq!(ids[0], ids[2]);
    assert_eq!(m.len(), 4);
    let texts: Vec<&str> = m.templates().iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "connected to <*> port <*>",
            "disk full on <*>",
            "session opened for user alice",
            "session closed for user alice"
        ]
    );
}

#[test]
fn examples_are_distinct_and_capped() {
    let mut m = LogMiner::new(MinerConfig {
        max_examples: 2,
        ..MinerConfig::default()
    });
    let id = m.add("job 1 done");
    m.add("job 1 done");
    m.add("job 2 done");
    m.add("job 3 done");
    let t = m.template(id);
    assert_eq!(t.count, 4);
    assert_eq!(t.examples, ["job 1 done", "job 2 done"]);
}

#[test]
fn first_and_last_seen() {
    let mut m = LogMiner::default();
    let id = m.add("tick 1");
    assert_eq!(m.template(id).first_seen, None);
    m.add_at("tick 2", 200);
    m.add_at("tick 3", 100);
    m.add_at("tick 4", 300);
    let t = m.template(id);
    assert_eq!(
        (t.first_seen, t.last_seen, t.count),
        (Some(100), Some(300), 4)
    );
}

#[test]
fn a_word_becomes_a_variable_at_the_third_value_and_ids_stay_valid() {
    let mut m = LogMiner::default();
    let cyrus = m.add("session closed for user cyrus");
    let news = m.add("session closed for user news");
    assert_ne!(cyrus, news, "two words could be an enum");
    assert_eq!(m.template(news).text, "session closed for user news");
    let test = m.add("session closed for user test");
    // all three merged: the old ids follow
    assert_eq!(m.resolve(cyrus), m.resolve(news));
    assert_eq!(m.resolve(news), m.resolve(test));
    let t = m.template(cyrus);
    assert_eq!(t.text, "session closed for user <*>");
    assert_eq!(t.count, 3);
    assert_eq!(t.examples.len(), 3);
    assert_eq!(m.templates().len(), 1);
    assert_eq!(m.add("session closed for user root"), m.resolve(cyrus));
    assert_eq!(m.template(news).count, 4);
    assert!(m.get(99).is_none());
}

#[test]
fn ids_survive_generalisation() {
    let mut m = LogMiner::default();
    let a = m.add("Invalid user webmaster from 1.2.3.4");
    // a user name with a digit is masked: this template covers the first one
    let b = m.add("Invalid user test9 from 5.6.7.8");
    assert_eq!(m.resolve(a), b);
    assert_eq!(m.template(a).text, "Invalid user <*> from <*>");
    assert_eq!(m.template(a).id, b);
    assert_eq!(m.add("Invalid user chen from 9.9.9.9"), b);
    assert_eq!(m.template(a).count, 3);
}

#[test]
fn optional_values_share_a_template() {
    let (m, ids) = mine(&[
        "conn close, 0 bytes sent, lifetime 00:01",
        "conn close, 451 bytes (18.4 KB) sent, lifetime <1 sec",
        "conn close, 12 bytes sent, lifetime 02:10",
    ]);
    assert!(ids.iter().all(|&i| i == ids[0]));
    assert_eq!(
        m.template(ids[0]).text,
        "conn close, <*> sent, lifetime <*>"
    );
    let (m, ids) = mine(&[
        "ask 10.0.0.1:50010 to delete blk_1",
        "ask 10.0.0.2:50010 to delete blk_2 blk_3 blk_4",
    ]);
    assert_eq!(ids[0], ids[1]);
    assert_eq!(m.template(ids[0]).text, "ask <*> to delete <*>");
    // same constants in the same order, the variable elsewhere
    let (m, ids) = mine(&["user 42 logged in", "user logged in 42"]);
    assert_eq!(ids[0], ids[1]);
    assert_eq!(m.template(ids[0]).text, "user <*> logged in <*>");
}

#[test]
fn key_values_render_attached() {
    let (m, ids) = mine(&[
        "auth failure; uid=0 rhost=1.2.3.4",
        "auth failure; uid=500 rhost=5.6.7.8",
    ]);
    assert_eq!(ids[0], ids[1]);
    assert_eq!(m.template(ids[0]).text, "auth failure; uid=<*> rhost=<*>");
}

#[test]
fn a_full_shape_cache_is_cleared_without_changing_results() {
    let mut m = LogMiner::new(MinerConfig {
        max_shapes: 2,
        ..MinerConfig::default()
    });
    let lines = [
        "a 1 b", "c d", "a x 2 b", "e f g", "a 3 b", "c d", "a x 4 b",
    ];
    let ids: Vec<usize> = lines.iter().map(|l| m.add(l)).collect();
    assert_eq!(ids, [0, 1, 2, 3, 0, 1, 2]);
    assert_eq!(
        m.templates().iter().map(|t| t.count).collect::<Vec<_>>(),
        [2, 2, 2, 1]
    );
}

#[test]
fn a_template_without_constants_does_not_swallow_words() {
    let (m, ids) = mine(&["12345", "restart.", "678"]);
    assert_eq!(ids[0], ids[2]);
    assert_ne!(ids[0], ids[1]);
    assert_eq!(m.template(ids[1]).text, "restart.");
    let (_, ids) = mine(&["", ""]);
    assert_eq!(ids[0], ids[1]);
}

#[test]
fn error_detection() {
    for e in [
        "Connection refused",
        "ERROR: disk full",
        "java.lang.NullPointerException at Foo.bar",
        "read timed out after 30 s",
        "Failed password for root",
        "authentication failure; logname=",
        "permission denied",
        "could not connect to proxy",
        "thread 'main' panicked at src/main.rs",
        "IOError: broken pipe",
    ] {
        assert!(looks_like_error(e), "{e}");
    }
    for ok in [
        "Received block blk_1 of size 67108864",
        "session opened for user root",
        "errorless run",
        "",
    ] {
        assert!(!looks_like_error(ok), "{ok}");
    }
}

#[test]
fn recurring_errors_are_frequent_error_templates() {
    let mut m = LogMiner::default();
    for i in 0..5 {
        m.add(&format!("connect to 10.0.0.{i} failed: Connection refused"));
        m.add(&format!("job {i} done"));
    }
    m.add("disk error on /dev/sda1");
    let errs = m.recurring_errors(2);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].text, "connect to <*> failed: Connection refused");
    assert_eq!(errs[0].count, 5);
    assert_eq!(m.recurring_errors(1).len(), 2);
}
