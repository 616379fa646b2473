//! template.yaml (the SAM application at the repository root), checked against
//! the code it deploys and the rules it promises: every function a cargo-lambda
//! binary; the EventBridge schedules equal to `SCHEDULES`, the list the local
//! scheduler runs; queue visibility at least six times the consumer's timeout;
//! a dead letter queue on every queue and an alarm on every one of those; no
//! secret values anywhere, only SSM parameter names and references; the JWT
//! authorizer on the API's ticket and approval routes, none on the webhook; an
//! audit log only the reaper may delete from; the settings readable by every
//! function, and each secret only by the functions whose wiring needs it.
//!
//! cfn-lint and `sam validate --lint` check the rest (scripts/validate-template.sh).
//! The YAML is read into JSON with CloudFormation's short intrinsic tags turned
//! into their long forms (`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` ->
//! `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` -> `{"Fn::Sub": s}`).

mod access;
mod lambdas;
mod load;
mod query;
mod queues;
mod table;

pub const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
/// The functions' crates, whose `main.rs` says what each one's wiring needs.
pub const FUNCTIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../functions");
pub const API_SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../api/src");
/// The DynamoDB adapter's table shape, whose `GSI_COUNT` the template must match.
pub const DYNAMO_TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../aws/src/dynamo/table.rs");

/// The function binaries (`Metadata.BuildProperties.Binary`), one per role.
pub const BINARIES: [&str; 11] = [
    "webhook",
    "api",
    "triage",
    "planner",
    "dispatcher",
    "reviewer",
    "job-events",
    "janitor",
    "discovery",
    "reaper",
    "reporter",
];
