//! `[llm]` settings from TOML, and a router built from them with keys resolved
//! through the `Secrets` port.

use crate::helpers::{Canned, FakeProvider, anthropic_text, openai_text, simple_request};
use async_trait::async_trait;
use nightshift_agent::llm::LlmSettingsExt;
use nightshift_agent::llm::{LlmConfigError, LlmSettings, ProviderKind, RouteTarget, Router};
use nightshift_core::ports::{SecretError, Secrets};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct File {
    llm: LlmSettings,
}

fn parse(text: &str) -> Result<LlmSettings, toml::de::Error> {
    toml::from_str::<File>(text).map(|f| f.llm)
}

struct MapSecrets(BTreeMap<&'static str, &'static str>);

#[async_trait]
impl Secrets for MapSecrets {
    async fn get(&self, name: &str) -> Result<SecretString, SecretError> {
        self.0
            .get(name)
            .map(|v| SecretString::from(*v))
            .ok_or_else(|| SecretError::Missing {
                name: name.to_owned(),
                hint: "set it in the test".into(),
            })
    }
}

fn settings_for(openai_url: &str, anthropic_url: &str) -> String {
    format!(
        r#"
[llm.retry]
max_attempts = 2
base_delay_ms = 10
max_delay_secs = 1

[[llm.providers]]
name = "openai"
kind = "openai"
base_url = "{openai_url}/v1"
api_key_secret = "llm/openai"

[[llm.providers]]
name = "anthropic"
kind = "anthropic"
base_url = "{anthropic_url}"
api_key_secret = "llm/anthropic"
timeout_secs = 60

[llm.routes]
triage = ["openai:gpt-4o-mini"]
builder = ["anthropic:claude-x", "openai:llama3.1:70b"]
"#
    )
}

#[test]
fn the_toml_shape_parses() {
    let settings = parse(&settings_for("http://o", "http://a")).expect("valid settings");

    assert_eq!(settings.providers.len(), 2);
    assert_eq!(settings.providers[0].kind, ProviderKind::Openai);
    assert_eq!(settings.providers[0].timeout_secs, 300);
    assert_eq!(
        settings.providers[1].api_key_secret.as_deref(),
        Some("llm/anthropic")
    );
    assert_eq!(
        settings.routes["builder"],
        [
            RouteTarget {
                provider: "anthropic".into(),
                model: "claude-x".into()
            },
            // Split at the first colon: Ollama tags keep theirs.
            RouteTarget {
                provider: "openai".into(),
                model: "llama3.1:70b".into()
            },
        ]
    );
    assert_eq!(settings.retry.max_attempts, 2);
    assert!(settings.is_configured());
    assert!(settings.validate().is_ok());
    assert!(!LlmSettings::default().is_configured());
}

#[test]
fn typos_fail_when_the_settings_load() {
    let unknown_field =
        "[[llm.providers]]\nname = \"o\"\nkind = \"openai\"\napi_key = \"sk-oops\"\n";
    let error = parse(unknown_field).expect_err("unknown field").to_string();
    assert!(error.contains("api_key"), "{error}");

    let no_colon = "[llm.routes]\nbuilder = [\"gpt-4o\"]\n";
    let error = parse(no_colon).expect_err("not provider:model").to_string();
    assert!(error.contains("provider:model"), "{error}");

    let bad_kind = "[[llm.providers]]\nname = \"o\"\nkind = \"gemini\"\n";
    assert!(parse(bad_kind).is_err());
}

#[tokio::test]
async fn a_router_built_from_settings_reads_keys_through_secrets() {
    let openai = FakeProvider::start(vec![Canned::ok(openai_text("triaged", 7, 3))]).await;
    let anthropic = FakeProvider::start(vec![Canned::ok(anthropic_text("built", 70, 30))]).await;
    let settings = parse(&settings_for(&openai.url, &anthropic.url)).expect("valid settings");
    let secrets = MapSecrets(BTreeMap::from([
        ("llm/openai", "sk-openai-from-ssm"),
        ("llm/anthropic", "sk-ant-from-ssm"),
    ]));

    let router = Router::build(&settings, &secrets).await.expect("a router");
    let triaged = router
        .chat("triage", &simple_request())
        .await
        .expect("triage answers");
    let built = router
        .chat("builder", &simple_request())
        .await
        .expect("builder answers");

    assert_eq!(
        (triaged.provider.as_str(), triaged.model.as_str()),
        ("openai", "gpt-4o-mini")
    );
    assert_eq!(
        (built.provider.as_str(), built.model.as_str()),
        ("anthropic", "claude-x")
    );
    assert_eq!(
        openai.requests()[0].header("authorization"),
        Some("Bearer sk-openai-from-ssm")
    );
    assert_eq!(
        anthropic.requests()[0].header("x-api-key"),
        Some("sk-ant-from-ssm")
    );
    assert_eq!(router.usage()["anthropic"].input_tokens, 70);
}

#[tokio::test]
async fn building_fails_clearly_on_a_missing_secret_or_a_dangling_route() {
    let settings = parse(&settings_for("http://127.0.0.1:9", "http://127.0.0.1:9")).expect("valid");
    let partial = MapSecrets(BTreeMap::from([("llm/openai", "sk-o")]));
    let error = Router::build(&settings, &partial)
        .await
        .expect_err("missing secret");
    assert!(
        matches!(&error, LlmConfigError::Secret { provider, source: SecretError::Missing { name, .. } }
            if provider == "anthropic" && name == "llm/anthropic"),
        "{error:?}"
    );

    let mut dangling = settings.clone();
    dangling.routes.insert(
        "reviewer".into(),
        vec![RouteTarget {
            provider: "gemini".into(),
            model: "g".into(),
        }],
    );
    let error = dangling.validate().expect_err("unknown provider");
    assert!(
        matches!(error, LlmConfigError::UnknownProvider { .. }),
        "{error:?}"
    );

    let mut keyless = settings.clone();
    keyless.providers[1].api_key_secret = None;
    assert!(
        matches!(keyless.validate(), Err(LlmConfigError::MissingApiKey(p)) if p == "anthropic")
    );

    let mut twice = settings;
    twice.providers.push(twice.providers[0].clone());
    assert!(matches!(
        twice.validate(),
        Err(LlmConfigError::DuplicateProvider(_))
    ));
}
