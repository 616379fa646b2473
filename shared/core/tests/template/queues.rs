//! Queues: visibility against the consumer's timeout, dead letter queues, alarms.

use crate::load::*;
use crate::query::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

#[test]
pub(crate) fn queue_visibility_is_at_least_six_times_the_consumer_timeout() {
    let t = template();
    let mut consumed = BTreeMap::new();
    for f in functions(&t) {
        for (name, p) in events(&f, "SQS") {
            let (queue, "Arn") = get_att(&p["Queue"]).expect("Queue: !GetAtt Q.Arn") else {
                panic!("{}.{name}: Queue must be a queue's Arn", f.id)
            };
            let q = &resources(&t)[queue];
            assert_eq!(q["Type"], "AWS::SQS::Queue", "{queue}");
            let visibility = q["Properties"]["VisibilityTimeout"].as_i64().unwrap_or(30);
            assert!(
                visibility >= 6 * f.timeout,
                "{queue}: VisibilityTimeout {visibility} < 6 x {} ({} s)",
                f.id,
                f.timeout
            );
            assert_eq!(
                p["FunctionResponseTypes"],
                json!(["ReportBatchItemFailures"]),
                "{}.{name}",
                f.id
            );
            assert!(
                p["BatchSize"].as_i64().is_some_and(|n| n >= 1),
                "{}.{name}: BatchSize",
                f.id
            );
            assert!(
                consumed.insert(queue, f.id).is_none(),
                "{queue} has two consumers"
            );
        }
    }
    // Every queue but the dead letter queues has its consumer.
    for (id, q) in of_type(&t, "AWS::SQS::Queue") {
        if !q["Properties"]["RedrivePolicy"].is_null() {
            assert!(consumed.contains_key(id), "nothing consumes {id}");
        }
    }
}

/// The dead letter queues: queue id -> its DLQ id.
pub(crate) fn dead_letter_queues(t: &Value) -> BTreeMap<&str, &str> {
    of_type(t, "AWS::SQS::Queue")
        .into_iter()
        .filter_map(|(id, q)| {
            let target = &q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"];
            Some((id, get_att(target)?.0))
        })
        .collect()
}

#[test]
pub(crate) fn every_queue_has_a_dead_letter_queue() {
    let t = template();
    let dlq_of = dead_letter_queues(&t);
    let dlqs: BTreeSet<&str> = dlq_of.values().copied().collect();
    for (id, q) in of_type(&t, "AWS::SQS::Queue") {
        if dlqs.contains(id) {
            assert!(
                q["Properties"]["RedrivePolicy"].is_null(),
                "{id} is a DLQ with a DLQ"
            );
            continue;
        }
        let redrive = &q["Properties"]["RedrivePolicy"];
        assert!(
            dlq_of.contains_key(id),
            "{id}: no RedrivePolicy with deadLetterTargetArn"
        );
        let receives = redrive["maxReceiveCount"].as_i64().unwrap_or(0);
        assert!(
            (1..=1000).contains(&receives),
            "{id}: maxReceiveCount {receives}"
        );
        // A standard queue's message keeps its first enqueue time in the DLQ.
        let dlq = &resources(&t)[dlq_of[id]];
        let retention = |q: &Value| {
            q["Properties"]["MessageRetentionPeriod"]
                .as_i64()
                .unwrap_or(345_600)
        };
        assert!(
            retention(dlq) > retention(q),
            "{}: retention must outlast {id}'s",
            dlq_of[id]
        );
    }
    assert!(!dlqs.is_empty());
}

#[test]
pub(crate) fn every_dead_letter_queue_has_an_alarm() {
    let t = template();
    let alarmed: BTreeSet<&str> = of_type(&t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter_map(|(_, a)| {
            let p = &a["Properties"];
            let fires_on_one = (p["ComparisonOperator"] == "GreaterThanThreshold"
                && p["Threshold"] == 0)
                || (p["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
                    && p["Threshold"] == 1);
            if p["Namespace"] != "AWS/SQS"
                || p["MetricName"] != "ApproximateNumberOfMessagesVisible"
                || !fires_on_one
            {
                return None;
            }
            let dims = p["Dimensions"].as_array()?;
            let d = dims.iter().find(|d| d["Name"] == "QueueName")?;
            match get_att(&d["Value"])? {
                (queue, "QueueName") => Some(queue),
                _ => None,
            }
        })
        .collect();
    for dlq in dead_letter_queues(&t).values() {
        assert!(alarmed.contains(dlq), "no alarm on a message in {dlq}");
    }
}
