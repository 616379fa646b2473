//! Looking things up in the template.

use serde_json::{Map, Value};

pub(crate) fn resources(t: &Value) -> &Map<String, Value> {
    t["Resources"].as_object().expect("Resources")
}

pub(crate) fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

pub(crate) fn ref_of(v: &Value) -> Option<&str> {
    v.get("Ref")?.as_str()
}

/// `{"Fn::GetAtt": [resource, attribute]}` -> (resource, attribute).
pub(crate) fn get_att(v: &Value) -> Option<(&str, &str)> {
    match v.get("Fn::GetAtt")?.as_array()?.as_slice() {
        [r, a] => Some((r.as_str()?, a.as_str()?)),
        _ => None,
    }
}

pub(crate) fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

pub(crate) struct Function<'a> {
    pub(crate) id: &'a str,
    pub(crate) binary: &'a str,
    pub(crate) props: &'a Value,
    /// Its own Timeout, or the Globals one (SAM's default 3 s without either).
    pub(crate) timeout: i64,
}

pub(crate) fn functions(t: &Value) -> Vec<Function<'_>> {
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

pub(crate) fn events<'a>(f: &Function<'a>, ty: &str) -> Vec<(&'a str, &'a Value)> {
    f.props["Events"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, e)| e["Type"] == ty)
        .map(|(name, e)| (name.as_str(), &e["Properties"]))
        .collect()
}

/// The policy documents a function or role holds, with where each came from.
pub(crate) fn policy_documents<'a>(
    t: &'a Value,
    attached: impl Iterator<Item = &'a Value>,
) -> Vec<&'a Value> {
    attached
        .map(|p| match ref_of(p) {
            Some(id) => &resources(t)[id]["Properties"]["PolicyDocument"],
            None if p.get("Statement").is_some() => p,
            None if p.get("PolicyDocument").is_some() => &p["PolicyDocument"],
            None => panic!("use the template's own policies, not {p}"),
        })
        .collect()
}
