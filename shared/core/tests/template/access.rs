//! Who may do what: no secret values, the authorizer on the API's routes, the audit log's deletes.

use crate::load::*;
use crate::query::*;
use crate::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A template parameter holding the NAME of an SSM parameter (`/...`).
pub(crate) fn is_ssm_name_parameter(t: &Value, name: &str) -> bool {
    let p = &t["Parameters"][name];
    p["Type"] == "String"
        && p["Default"].as_str().is_some_and(|d| d.starts_with('/'))
        && p["AllowedPattern"]
            .as_str()
            .is_some_and(|a| a.starts_with("^/"))
}

pub(crate) fn sounds_secret(name: &str) -> bool {
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

pub(crate) fn check_variable(t: &Value, whose: &str, name: &str, value: &Value) {
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
pub(crate) fn no_secret_values_only_ssm_names_and_references() {
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
pub(crate) fn routes(t: &Value) -> BTreeMap<(String, String), (String, String)> {
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
pub(crate) fn ticket_and_approval_routes_need_the_authorizer_and_the_webhook_none() {
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
pub(crate) fn api_routes_in_code() -> BTreeSet<(String, String)> {
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
pub(crate) fn every_api_route_in_the_code_is_routed_and_no_other() {
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

/// Whether these documents let their holder delete audit items.
pub(crate) fn may_delete_audit(docs: &[&Value]) -> bool {
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
pub(crate) fn only_the_reaper_may_delete_from_the_audit_log() {
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

/// What a function's `main.rs` asks its wiring for: `Needs::NOTHING` and then
/// `.with_forge()`, `.with_models()`, `.with_launcher()`, `.with_logs()`.
#[derive(Debug, Default)]
pub(crate) struct WiringNeeds {
    forge: bool,
    models: bool,
    launcher: bool,
    logs: bool,
}

pub(crate) fn wiring_needs(binary: &str) -> WiringNeeds {
    let path = format!("{FUNCTIONS}/{binary}/src/main.rs");
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let at = src
        .find("Needs::NOTHING")
        .unwrap_or_else(|| panic!("{path} does not say what it needs (wiring::Needs)"));
    let statement = src[at..].split(';').next().unwrap();
    let mut needs = WiringNeeds::default();
    for part in statement.split(".with_").skip(1) {
        let part: String = part
            .chars()
            .take_while(|c| c.is_ascii_lowercase())
            .collect();
        match part.as_str() {
            "forge" => needs.forge = true,
            "models" => needs.models = true,
            "launcher" => needs.launcher = true,
            "logs" => needs.logs = true,
            other => panic!("{path}: unknown Needs part with_{other}"),
        }
    }
    needs
}

#[test]
pub(crate) fn each_function_may_read_the_settings_and_exactly_the_secrets_its_wiring_needs() {
    let t = template();
    for f in functions(&t) {
        let attached = f.props["Policies"].as_array().unwrap();
        let policies: BTreeSet<&str> = attached.iter().filter_map(ref_of).collect();
        let docs = policy_documents(&t, attached.iter());
        let grants = |action: &str| {
            docs.iter()
                .flat_map(|d| d["Statement"].as_array().unwrap())
                .any(|s| s["Effect"] == "Allow" && strings(&s["Action"]).contains(&action))
        };
        let needs = wiring_needs(f.binary);
        let reads = |p: &str| policies.contains(p);
        assert!(
            reads("SettingsReadPolicy"),
            "{}: cannot read its settings",
            f.binary
        );
        let expect = [
            (
                "the GitHub token's read policy",
                reads("GitHubTokenReadPolicy"),
                needs.forge,
            ),
            (
                "the LLM key's read policy",
                reads("LlmApiKeyReadPolicy"),
                needs.models,
            ),
            (
                "ecs:DescribeTasks (the launcher)",
                grants("ecs:DescribeTasks"),
                needs.launcher,
            ),
            (
                "logs:FilterLogEvents (the logs)",
                grants("logs:FilterLogEvents"),
                needs.logs,
            ),
        ];
        for (what, granted, wired) in expect {
            assert_eq!(
                granted, wired,
                "{}: {what} does not match its wiring ({needs:?})",
                f.binary
            );
        }
    }
    let worker = &resources(&t)["WorkerTaskRole"]["Properties"]["ManagedPolicyArns"];
    assert!(
        worker
            .as_array()
            .unwrap()
            .iter()
            .any(|p| ref_of(p) == Some("SettingsReadPolicy")),
        "the worker task cannot read its settings"
    );
}
