//! template.yaml (the SAM application at the repository root), checked against
//! the code it deploys and the rules it promises: every function a cargo-lambda
//! binary; the EventBridge schedules equal to `SCHEDULES`, the list the local
//! scheduler runs; queue visibility at least six times the consumer's timeout;
//! a dead letter queue on every queue and an alarm on every one of those; no
//! secret values anywhere, only SSM parameter names and references; the JWT
//! authorizer on the API's ticket and approval routes, none on the webhook; an
//! audit log only the reaper may delete from.
//!
//! cfn-lint and `sam validate --lint` check the rest (scripts/validate-template.sh).
//! The YAML is read into JSON with CloudFormation's short intrinsic tags turned
//! into their long forms (`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` ->
//! `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` -> `{"Fn::Sub": s}`).

use nightshift_core::schedule::{SCHEDULES, Schedule};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
const API_SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../api/src");
/// The DynamoDB adapter's table shape, whose `GSI_COUNT` the template must match.
const DYNAMO_TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../aws/src/dynamo/table.rs");

/// The function binaries (`Metadata.BuildProperties.Binary`), one per role.
const BINARIES: [&str; 11] = [
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

// ---------------------------------------------------------------------------
// YAML -> JSON with the intrinsic tags in long form
// ---------------------------------------------------------------------------

enum Frame {
    Seq(Vec<Value>, Option<Tag>),
    Map(Map<String, Value>, Option<String>, Option<Tag>),
}

#[derive(Default)]
struct Loader {
    stack: Vec<Frame>,
    docs: Vec<Value>,
}

impl MarkedEventReceiver for Loader {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::SequenceStart(_, tag) => self.stack.push(Frame::Seq(Vec::new(), tag)),
            Event::MappingStart(_, tag) => self.stack.push(Frame::Map(Map::new(), None, tag)),
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq(items, tag)) => self.push(intrinsic(tag, Value::Array(items))),
                _ => unreachable!("sequence end without its start"),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map(map, _, tag)) => self.push(intrinsic(tag, Value::Object(map))),
                _ => unreachable!("mapping end without its start"),
            },
            Event::Scalar(s, style, _, tag) => {
                let value = if tag.is_none() && style == TScalarStyle::Plain {
                    plain(&s)
                } else {
                    Value::String(s)
                };
                self.push(intrinsic(tag, value));
            }
            Event::Alias(_) => panic!(
                "template.yaml line {}: CloudFormation does not resolve YAML aliases",
                mark.line()
            ),
            _ => {}
        }
    }
}

impl Loader {
    fn push(&mut self, v: Value) {
        match self.stack.last_mut() {
            None => self.docs.push(v),
            Some(Frame::Seq(items, _)) => items.push(v),
            Some(Frame::Map(map, key, _)) => match key.take() {
                None => *key = Some(v.as_str().map_or_else(|| v.to_string(), str::to_string)),
                Some(k) => assert!(map.insert(k.clone(), v).is_none(), "duplicate key `{k}`"),
            },
        }
    }
}

/// A plain scalar as YAML 1.2's core schema reads it.
fn plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => s
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| s.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(s.to_string())),
    }
}

/// `!Name value` -> CloudFormation's long form of the intrinsic.
fn intrinsic(tag: Option<Tag>, v: Value) -> Value {
    let Some(Tag { handle, suffix }) = tag else {
        return v;
    };
    if handle != "!" {
        return v; // `!!str` and friends: the value as it is
    }
    match suffix.as_str() {
        "Ref" | "Condition" => json!({ suffix.clone(): v }),
        "GetAtt" => match v.as_str().and_then(|s| s.split_once('.')) {
            Some((resource, attribute)) => json!({ "Fn::GetAtt": [resource, attribute] }),
            None => json!({ "Fn::GetAtt": v }),
        },
        other => json!({ format!("Fn::{other}"): v }),
    }
}

fn template() -> Value {
    let text = std::fs::read_to_string(TEMPLATE).expect("template.yaml at the repository root");
    let mut loader = Loader::default();
    Parser::new_from_str(&text)
        .load(&mut loader, false)
        .expect("template.yaml is YAML");
    loader.docs.pop().expect("one document")
}

// ---------------------------------------------------------------------------
// Looking things up
// ---------------------------------------------------------------------------

fn resources(t: &Value) -> &Map<String, Value> {
    t["Resources"].as_object().expect("Resources")
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

fn ref_of(v: &Value) -> Option<&str> {
    v.get("Ref")?.as_str()
}

/// `{"Fn::GetAtt": [resource, attribute]}` -> (resource, attribute).
fn get_att(v: &Value) -> Option<(&str, &str)> {
    match v.get("Fn::GetAtt")?.as_array()?.as_slice() {
        [r, a] => Some((r.as_str()?, a.as_str()?)),
        _ => None,
    }
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

struct Function<'a> {
    id: &'a str,
    binary: &'a str,
    props: &'a Value,
    /// Its own Timeout, or the Globals one (SAM's default 3 s without either).
    timeout: i64,
}

fn functions(t: &Value) -> Vec<Function<'_>> {
    let globals = &t["Globals"]["Function"];
    of_type(t, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, r)| Function {
            id,
            binary: r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or(""),
            props: &r["Properties"],
            timeout: r["Properties"]["Timeout"]
                .as_i64()
                .or(globals["Timeout"].as_i64())
                .unwrap_or(3),
        })
        .collect()
}

fn events<'a>(f: &Function<'a>, ty: &str) -> Vec<(&'a str, &'a Value)> {
    f.props["Events"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, e)| e["Type"] == ty)
        .map(|(name, e)| (name.as_str(), &e["Properties"]))
        .collect()
}

// ---------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------

#[test]
fn every_function_is_a_cargo_lambda_binary_on_al2023() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    let own_or_global = |f: &Function, key: &str| {
        let own = &f.props[key];
        if own.is_null() {
            globals[key].clone()
        } else {
            own.clone()
        }
    };
    let mut binaries = BTreeSet::new();
    for f in functions(&t) {
        let meta = &resources(&t)[f.id]["Metadata"];
        assert_eq!(meta["BuildMethod"], "rust-cargolambda", "{}", f.id);
        assert!(!f.binary.is_empty(), "{}: BuildProperties.Binary", f.id);
        assert!(
            binaries.insert(f.binary),
            "binary `{}` built twice",
            f.binary
        );
        assert_eq!(own_or_global(&f, "Runtime"), "provided.al2023", "{}", f.id);
        assert_eq!(own_or_global(&f, "Handler"), "bootstrap", "{}", f.id);
        assert_eq!(
            own_or_global(&f, "CodeUri"),
            ".",
            "{}: the workspace root",
            f.id
        );
        assert_eq!(
            own_or_global(&f, "Architectures"),
            json!([{ "Ref": "Architecture" }]),
            "{}",
            f.id
        );
    }
    assert_eq!(binaries, BTreeSet::from(BINARIES));
    let arch = &t["Parameters"]["Architecture"];
    assert_eq!(arch["Default"], "arm64");
    assert_eq!(arch["AllowedValues"], json!(["arm64", "x86_64"]));
    // The worker follows the same parameter.
    for (id, td) in of_type(&t, "AWS::ECS::TaskDefinition") {
        let platform = &td["Properties"]["RuntimePlatform"];
        assert_eq!(
            platform["CpuArchitecture"],
            json!({"Fn::If": ["IsArm64", "ARM64", "X86_64"]}),
            "{id}"
        );
        assert_eq!(
            t["Conditions"]["IsArm64"],
            json!({"Fn::Equals": [{"Ref": "Architecture"}, "arm64"]})
        );
    }
}

#[test]
fn the_schedules_are_the_ones_the_local_scheduler_runs() {
    let t = template();
    let mut in_template = BTreeSet::new();
    for f in functions(&t) {
        for (name, p) in events(&f, "Schedule")
            .into_iter()
            .chain(events(&f, "ScheduleV2"))
        {
            let expression = p["Schedule"].as_str().or(p["ScheduleExpression"].as_str());
            let expression = expression.unwrap_or_else(|| panic!("{}.{name}: no expression", f.id));
            Schedule::parse(expression).unwrap();
            in_template.insert((f.binary.to_string(), expression.to_string()));
        }
    }
    let in_code: BTreeSet<_> = SCHEDULES
        .iter()
        .map(|s| (s.name.to_string(), s.expression.to_string()))
        .collect();
    let missing: Vec<_> = in_code.difference(&in_template).collect();
    let extra: Vec<_> = in_template.difference(&in_code).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "SCHEDULES entries missing from template.yaml: {missing:?}; \
         template schedules not in SCHEDULES: {extra:?}"
    );
}

#[test]
fn queue_visibility_is_at_least_six_times_the_consumer_timeout() {
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
fn dead_letter_queues(t: &Value) -> BTreeMap<&str, &str> {
    of_type(t, "AWS::SQS::Queue")
        .into_iter()
        .filter_map(|(id, q)| {
            let target = &q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"];
            Some((id, get_att(target)?.0))
        })
        .collect()
}

#[test]
fn every_queue_has_a_dead_letter_queue() {
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
fn every_dead_letter_queue_has_an_alarm() {
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

/// A template parameter holding the NAME of an SSM parameter (`/...`).
fn is_ssm_name_parameter(t: &Value, name: &str) -> bool {
    let p = &t["Parameters"][name];
    p["Type"] == "String"
        && p["Default"].as_str().is_some_and(|d| d.starts_with('/'))
        && p["AllowedPattern"]
            .as_str()
            .is_some_and(|a| a.starts_with("^/"))
}

fn sounds_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "KEY",
        "_PARAMETER",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| n.contains(w))
}

fn check_variable(t: &Value, whose: &str, name: &str, value: &Value) {
    if !sounds_secret(name) {
        return;
    }
    assert!(
        name.ends_with("_PARAMETER"),
        "{whose}: {name} looks like a secret; pass an SSM parameter name as *_PARAMETER"
    );
    let p = ref_of(value)
        .unwrap_or_else(|| panic!("{whose}: {name} must be !Ref of an SSM name parameter"));
    assert!(
        is_ssm_name_parameter(t, p),
        "{whose}: {name} -> {p} is not an SSM parameter name"
    );
}

#[test]
fn no_secret_values_only_ssm_names_and_references() {
    let t = template();
    let vars = |v: &Value| {
        v["Environment"]["Variables"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    for (name, value) in vars(&t["Globals"]["Function"]) {
        check_variable(&t, "Globals", &name, &value);
    }
    for f in functions(&t) {
        for (name, value) in vars(f.props) {
            check_variable(&t, f.id, &name, &value);
        }
    }
    let mut secrets = 0;
    for (id, td) in of_type(&t, "AWS::ECS::TaskDefinition") {
        for c in td["Properties"]["ContainerDefinitions"].as_array().unwrap() {
            for e in c["Environment"].as_array().into_iter().flatten() {
                check_variable(&t, id, e["Name"].as_str().unwrap(), &e["Value"]);
            }
            for s in c["Secrets"].as_array().into_iter().flatten() {
                assert!(s["Value"].is_null(), "{id}: secrets by ValueFrom only");
                let arn = s["ValueFrom"]["Fn::Sub"].as_str().unwrap_or_else(|| {
                    panic!(
                        "{id}: {}: ValueFrom must be !Sub of an SSM parameter ARN",
                        s["Name"]
                    )
                });
                let param = arn
                    .split_once(":parameter${")
                    .and_then(|(head, rest)| head.contains(":ssm:").then_some(rest))
                    .and_then(|rest| rest.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("{id}: {arn} is not an SSM parameter ARN"));
                assert!(is_ssm_name_parameter(&t, param), "{id}: {param}");
                secrets += 1;
            }
        }
    }
    assert!(secrets > 0, "the worker takes its secrets from SSM");
}

/// (method, path) -> (binary, effective authorizer) of every HttpApi event.
fn routes(t: &Value) -> BTreeMap<(String, String), (String, String)> {
    let mut out = BTreeMap::new();
    for f in functions(t) {
        for (name, p) in events(&f, "HttpApi") {
            let api_id = ref_of(&p["ApiId"]).unwrap_or_else(|| panic!("{}.{name}: ApiId", f.id));
            let auth = &resources(t)[api_id]["Properties"]["Auth"];
            let authorizer = p["Auth"]["Authorizer"]
                .as_str()
                .or(auth["DefaultAuthorizer"].as_str())
                .unwrap_or("NONE");
            if authorizer != "NONE" && authorizer != "AWS_IAM" {
                let jwt = &auth["Authorizers"][authorizer]["JwtConfiguration"];
                assert!(
                    jwt["issuer"].is_object() && jwt["audience"].is_object(),
                    "{authorizer}: JWT from parameters"
                );
            }
            let method = p["Method"].as_str().unwrap().to_ascii_lowercase();
            let key = (method, p["Path"].as_str().unwrap().to_string());
            let value = (f.binary.to_string(), authorizer.to_string());
            assert!(
                out.insert(key.clone(), value).is_none(),
                "{key:?} routed twice"
            );
        }
    }
    out
}

#[test]
fn ticket_and_approval_routes_need_the_authorizer_and_the_webhook_none() {
    let t = template();
    let routes = routes(&t);
    let protected = [
        "/tickets",
        "/approvals",
        "/jobs",
        "/budget",
        "/report",
        "/pulls",
    ];
    let mut checked = 0;
    for ((method, path), (binary, authorizer)) in &routes {
        if protected
            .iter()
            .any(|p| path == p || path.starts_with(&format!("{p}/")))
        {
            assert_ne!(
                authorizer, "NONE",
                "{method} {path} must need the authorizer"
            );
            assert_eq!(binary, "api", "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked >= 10, "the protected routes are missing");
    let webhook = &routes[&("post".to_string(), "/webhooks/github".to_string())];
    assert_eq!(
        webhook,
        &("webhook".to_string(), "NONE".to_string()),
        "the function checks the HMAC"
    );
}

/// `#[utoipa::path(get, path = "/jobs", ...)]` in shared/api/src -> (method, path).
fn api_routes_in_code() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(API_SOURCES).expect("shared/api/src") {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for attr in text.split("#[utoipa::path(").skip(1) {
            let method = attr.trim_start().split(',').next().unwrap().trim();
            let path = attr
                .split("path = \"")
                .nth(1)
                .and_then(|p| p.split('"').next())
                .unwrap();
            out.insert((method.to_string(), path.to_string()));
        }
    }
    out
}

#[test]
fn every_api_route_in_the_code_is_routed_and_no_other() {
    let t = template();
    let routes = routes(&t);
    let code = api_routes_in_code();
    assert!(
        code.len() >= 15,
        "read {} routes from shared/api/src",
        code.len()
    );
    let serves = |(method, path): &(String, String)| {
        routes.keys().any(|(m, p)| {
            m == method
                && match p.strip_suffix("{proxy+}") {
                    Some(prefix) => path.starts_with(prefix) && path.len() > prefix.len(),
                    None => p == path,
                }
        })
    };
    let unrouted: Vec<_> = code.iter().filter(|r| !serves(r)).collect();
    assert!(
        unrouted.is_empty(),
        "routes of shared/api missing from template.yaml: {unrouted:?}"
    );
    for (route, (binary, _)) in &routes {
        let known = route.1.ends_with("{proxy+}") || code.contains(route);
        assert!(
            known,
            "template.yaml routes {route:?} to {binary}, which shared/api does not serve"
        );
    }
}

/// The policy documents a function or role holds, with where each came from.
fn policy_documents<'a>(t: &'a Value, attached: impl Iterator<Item = &'a Value>) -> Vec<&'a Value> {
    attached
        .map(|p| match ref_of(p) {
            Some(id) => &resources(t)[id]["Properties"]["PolicyDocument"],
            None if p.get("Statement").is_some() => p,
            None if p.get("PolicyDocument").is_some() => &p["PolicyDocument"],
            None => panic!("use the template's own policies, not {p}"),
        })
        .collect()
}

/// Whether these documents let their holder delete audit items.
fn may_delete_audit(docs: &[&Value]) -> bool {
    let deleting = [
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:*",
        "*",
    ];
    let statements = || docs.iter().flat_map(|d| d["Statement"].as_array().unwrap());
    let allows = statements().any(|s| {
        s["Effect"] == "Allow" && strings(&s["Action"]).iter().any(|a| deleting.contains(a))
    });
    let denies = statements().any(|s| {
        let actions = strings(&s["Action"]);
        let keys = strings(&s["Condition"]["ForAnyValue:StringLike"]["dynamodb:LeadingKeys"]);
        s["Effect"] == "Deny"
            && ["dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
                .iter()
                .all(|a| actions.contains(a))
            && keys.iter().any(|k| k.starts_with("AUDIT"))
    });
    allows && !denies
}

#[test]
fn only_the_reaper_may_delete_from_the_audit_log() {
    let t = template();
    let mut deleters = Vec::new();
    for f in functions(&t) {
        let docs = policy_documents(&t, f.props["Policies"].as_array().unwrap().iter());
        if may_delete_audit(&docs) {
            deleters.push(f.binary.to_string());
        }
    }
    for (id, role) in of_type(&t, "AWS::IAM::Role") {
        let p = &role["Properties"];
        let managed = p["ManagedPolicyArns"].as_array().into_iter().flatten();
        let inline = p["Policies"].as_array().into_iter().flatten();
        if may_delete_audit(&policy_documents(&t, managed.chain(inline))) {
            deleters.push(id.to_string());
        }
    }
    assert_eq!(
        deleters,
        ["reaper"],
        "the audit log is append-only for everyone else"
    );
}

#[test]
fn the_table_is_on_demand_with_ttl_and_point_in_time_recovery() {
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

#[test]
fn only_the_launchers_start_worker_tasks() {
    let t = template();
    let mut launchers = BTreeSet::new();
    for f in functions(&t) {
        let docs = policy_documents(&t, f.props["Policies"].as_array().unwrap().iter());
        let grants = |action: &str| {
            docs.iter()
                .flat_map(|d| d["Statement"].as_array().unwrap())
                .any(|s| s["Effect"] == "Allow" && strings(&s["Action"]).contains(&action))
        };
        if grants("ecs:RunTask") {
            assert!(grants("iam:PassRole"), "{}: RunTask needs PassRole", f.id);
            launchers.insert(f.binary);
        }
        let env = &f.props["Environment"]["Variables"];
        if grants("ecs:RunTask") || grants("ecs:StopTask") {
            for var in ["CLUSTER", "TASK_DEFINITION", "SUBNETS", "SECURITY_GROUP"] {
                assert!(!env[var].is_null(), "{}: {var}", f.id);
            }
        }
    }
    assert_eq!(
        launchers,
        BTreeSet::from(["dispatcher", "reviewer", "janitor"])
    );
}
