//! Every function a cargo-lambda binary; the schedules; who starts worker tasks.

use crate::load::*;
use crate::query::*;
use crate::*;
use nightshift_core::schedule::{SCHEDULES, Schedule};
use serde_json::json;
use std::collections::BTreeSet;

#[test]
pub(crate) fn every_function_is_a_cargo_lambda_binary_on_al2023() {
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
pub(crate) fn the_schedules_are_the_ones_the_local_scheduler_runs() {
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
pub(crate) fn only_the_launchers_start_worker_tasks() {
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
