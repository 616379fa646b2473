//! template.yaml read into JSON, with the intrinsic tags in long form.

use crate::TEMPLATE;
use serde_json::{Map, Value, json};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

pub(crate) enum Frame {
    Seq(Vec<Value>, Option<Tag>),
    Map(Map<String, Value>, Option<String>, Option<Tag>),
}

#[derive(Default)]
pub(crate) struct Loader {
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
pub(crate) fn plain(s: &str) -> Value {
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
pub(crate) fn intrinsic(tag: Option<Tag>, v: Value) -> Value {
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

pub(crate) fn template() -> Value {
    let text = std::fs::read_to_string(TEMPLATE).expect("template.yaml at the repository root");
    let mut loader = Loader::default();
    Parser::new_from_str(&text)
        .load(&mut loader, false)
        .expect("template.yaml is YAML");
    loader.docs.pop().expect("one document")
}
