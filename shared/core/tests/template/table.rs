//! The DynamoDB table.

use crate::load::*;
use crate::query::*;
use crate::*;
use serde_json::json;
use std::collections::BTreeMap;

#[test]
pub(crate) fn the_table_is_on_demand_with_ttl_and_point_in_time_recovery() {
    let t = template();
    let tables = of_type(&t, "AWS::DynamoDB::Table");
    let [(id, table)] = tables[..] else {
        panic!("one table")
    };
    assert_eq!(
        table["DeletionPolicy"], "Retain",
        "{id}: README says the table outlives the stack"
    );
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        p["TimeToLiveSpecification"],
        json!({"AttributeName": "expires_at", "Enabled": true})
    );
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(
        p["KeySchema"],
        json!([{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    );
    let defined: BTreeMap<String, &str> = p["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap().to_string(),
                a["AttributeType"].as_str().unwrap(),
            )
        })
        .collect();
    let gsis = p["GlobalSecondaryIndexes"].as_array().unwrap();
    let mut expected = BTreeMap::from([("pk".to_string(), "S"), ("sk".to_string(), "S")]);
    for (i, gsi) in gsis.iter().enumerate() {
        let n = i + 1;
        let (hash, range) = (format!("gsi{n}pk"), format!("gsi{n}sk"));
        assert_eq!(gsi["IndexName"], format!("gsi{n}"));
        assert_eq!(
            gsi["KeySchema"],
            json!([{"AttributeName": hash, "KeyType": "HASH"}, {"AttributeName": range, "KeyType": "RANGE"}])
        );
        assert_eq!(gsi["Projection"], json!({"ProjectionType": "ALL"}));
        expected.insert(hash, "S");
        expected.insert(range, "S");
    }
    assert_eq!(
        defined, expected,
        "AttributeDefinitions: exactly the key attributes"
    );
    let adapter = std::fs::read_to_string(DYNAMO_TABLE).expect("shared/aws/src/dynamo/table.rs");
    let count: usize = adapter
        .split("const GSI_COUNT: usize = ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.trim().parse().ok())
        .expect("GSI_COUNT in shared/aws/src/dynamo/table.rs");
    assert_eq!(
        gsis.len(),
        count,
        "the template's GSIs and the DynamoDB adapter's"
    );
}
