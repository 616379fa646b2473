//! The functions' wiring against moto (the AWS emulator, started on a loopback
//! port by the shared harness): settings from their SSM parameter, and only
//! the secrets a function needs read in init.

#[path = "../../aws/tests/aws/moto.rs"]
mod moto;

use aws_sdk_ssm::types::ParameterType;
use nightshift_aws::DynamoStore;
use nightshift_lambda::wiring::{Needs, SecretsFrom, deps_from};
use std::collections::HashMap;

/// A table, and the environment the template gives a function, with its
/// own parameter names under `/<unique>/`.
async fn setup() -> (aws_config::SdkConfig, HashMap<String, String>, String) {
    let sdk = moto::config().await;
    let table = moto::unique("wiring");
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table)
        .create_table()
        .await
        .unwrap();
    let dir = format!("/{}", moto::unique("ns"));
    let mut env = HashMap::from([
        ("TABLE_NAME".to_string(), table),
        ("SETTINGS_PARAMETER".into(), format!("{dir}/settings")),
        (
            "GITHUB_TOKEN_PARAMETER".into(),
            format!("{dir}/github-token"),
        ),
        ("LLM_API_KEY_PARAMETER".into(), format!("{dir}/llm-api-key")),
    ]);
    for q in ["TRIAGE", "PLAN", "DISPATCH", "REVIEW", "JOB_EVENTS"] {
        let url = format!("{}/123456789012/{}", moto::endpoint(), q.to_lowercase());
        env.insert(format!("{q}_QUEUE_URL"), url.clone());
        env.insert(format!("{q}_DLQ_URL"), format!("{url}-dlq"));
    }
    (sdk, env, dir)
}

async fn put(sdk: &aws_config::SdkConfig, name: &str, value: &str, kind: ParameterType) {
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

async fn wire(
    sdk: &aws_config::SdkConfig,
    env: &HashMap<String, String>,
    needs: Needs,
) -> anyhow::Result<nightshift_roles::Deps> {
    let lookup = |k: &str| env.get(k).cloned();
    deps_from(&lookup, sdk, SecretsFrom::Ssm, needs)
        .await
        .map(|(d, _)| d)
}

#[tokio::test]
async fn settings_come_from_their_ssm_parameter_and_a_missing_or_bad_one_says_what_to_do() {
    let (sdk, env, dir) = setup().await;
    let name = format!("{dir}/settings");

    let e = format!(
        "{:#}",
        wire(&sdk, &env, Needs::NOTHING).await.err().unwrap()
    );
    assert!(
        e.contains(&name) && e.contains("does not exist") && e.contains("aws ssm put-parameter"),
        "{e}"
    );

    let doc = "[dispatcher]\nmax_concurrent_jobs = 3\n\n[forge.github]\nrepos = [\"acme/app\"]\n";
    put(&sdk, &name, doc, ParameterType::String).await;
    let deps = wire(&sdk, &env, Needs::NOTHING).await.unwrap();
    assert_eq!(deps.settings.dispatcher.max_concurrent_jobs, 3);
    assert_eq!(deps.settings.forge.github.repos, ["acme/app"]);
    assert_eq!(
        deps.settings.log_format,
        nightshift_core::settings::LogFormat::Json
    );

    // A SecureString document is read with decryption like a secret.
    put(
        &sdk,
        &name,
        "[dispatcher]\nmax_concurrent_jobs = 2\n",
        ParameterType::SecureString,
    )
    .await;
    let deps = wire(&sdk, &env, Needs::NOTHING).await.unwrap();
    assert_eq!(deps.settings.dispatcher.max_concurrent_jobs, 2);

    put(
        &sdk,
        &name,
        "[dispatcher]\nmax_concurrent_jobs = \"many\"\n",
        ParameterType::String,
    )
    .await;
    let e = format!(
        "{:#}",
        wire(&sdk, &env, Needs::NOTHING).await.err().unwrap()
    );
    assert!(
        e.contains(&name) && e.contains("max_concurrent_jobs"),
        "{e}"
    );
}

#[tokio::test]
async fn a_function_reads_only_the_secrets_it_needs_and_fails_init_without_them() {
    let (sdk, env, dir) = setup().await;
    let settings = "[[llm.providers]]\nname = \"main\"\nkind = \"openai\"\n\
                    base_url = \"http://127.0.0.1:9/v1\"\napi_key_secret = \"llm-api-key\"\n\n\
                    [llm.routes]\ndefault = [\"main:some-model\"]\n";
    put(
        &sdk,
        &format!("{dir}/settings"),
        settings,
        ParameterType::String,
    )
    .await;

    // Nothing stored yet: a function that needs no secret starts, and says
    // so when asked for the forge; one that needs the forge does not start.
    let deps = wire(&sdk, &env, Needs::NOTHING).await.unwrap();
    assert_eq!(deps.forge.name(), "none");
    assert!(deps.llm.is_none());
    let e = deps
        .forge
        .can_write("acme/app", "someone")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no forge token"), "{e}");
    let e = format!(
        "{:#}",
        wire(&sdk, &env, Needs::NOTHING.with_forge())
            .await
            .err()
            .unwrap()
    );
    assert!(
        e.contains("GitHub forge") && e.contains(&format!("{dir}/github-token")),
        "{e}"
    );

    let token = "ghp_wiringtest0000000000000000000000000";
    put(
        &sdk,
        &format!("{dir}/github-token"),
        token,
        ParameterType::SecureString,
    )
    .await;
    let deps = wire(&sdk, &env, Needs::NOTHING.with_forge()).await.unwrap();
    assert_eq!(deps.forge.name(), "github");
    assert!(deps.llm.is_none(), "models were not asked for");

    // Models configured but their key missing: init fails naming the key.
    let e = format!(
        "{:#}",
        wire(&sdk, &env, Needs::NOTHING.with_forge().with_models())
            .await
            .err()
            .unwrap()
    );
    assert!(e.contains("LLM") && e.contains("llm-api-key"), "{e}");
    assert!(!e.contains(token));
    put(
        &sdk,
        &format!("{dir}/llm-api-key"),
        "sk-wiring",
        ParameterType::SecureString,
    )
    .await;
    let deps = wire(&sdk, &env, Needs::NOTHING.with_forge().with_models())
        .await
        .unwrap();
    assert!(deps.llm.is_some());
    assert!(!format!("{:?}", deps.settings).contains(token));
}

#[tokio::test]
async fn the_launcher_and_the_logs_exist_only_where_asked_for() {
    let (sdk, mut env, dir) = setup().await;
    put(
        &sdk,
        &format!("{dir}/settings"),
        "# defaults\n",
        ParameterType::String,
    )
    .await;
    let job = nightshift_core::ports::LaunchRequest {
        job_id: "job-1".into(),
        attempt: 1,
    };

    let deps = wire(&sdk, &env, Needs::NOTHING).await.unwrap();
    let e = deps.launcher.launch(&job).await.unwrap_err();
    assert!(e.message.contains("launches no jobs"), "{}", e.message);
    let e = deps
        .logs
        .fetch("/aws/lambda/app", None, 10)
        .await
        .unwrap_err();
    assert!(format!("{e:#?}").contains("reads no logs"), "{e:#?}");

    // Asked for, the launcher needs the template's ECS variables.
    let e = format!(
        "{:#}",
        wire(&sdk, &env, Needs::NOTHING.with_launcher())
            .await
            .err()
            .unwrap()
    );
    assert!(e.contains("CLUSTER is not set"), "{e}");
    for (k, v) in [
        ("CLUSTER", "nightshift"),
        ("TASK_DEFINITION", "worker"),
        ("SUBNETS", "subnet-1,subnet-2"),
        ("SECURITY_GROUP", "sg-1"),
    ] {
        env.insert(k.into(), v.into());
    }
    wire(&sdk, &env, Needs::NOTHING.with_launcher())
        .await
        .unwrap();

    // The logs are CloudWatch's: a missing group is "not found", not "none".
    let deps = wire(&sdk, &env, Needs::NOTHING.with_logs()).await.unwrap();
    let e = deps
        .logs
        .fetch("/aws/lambda/missing", None, 10)
        .await
        .unwrap_err();
    assert!(
        matches!(e, nightshift_core::ports::LogSourceError::NotFound { .. }),
        "{e:#?}"
    );
}

#[test]
fn the_settings_document_in_the_deploy_guide_is_valid() {
    let guide = include_str!("../../../docs/deploy.md");
    let start = guide
        .find("```toml\n")
        .expect("docs/deploy.md shows a settings document")
        + 8;
    let doc = &guide[start..start + guide[start..].find("```").unwrap()];
    let s = nightshift_roles::config::load_toml(doc, "docs/deploy.md").unwrap();
    assert_eq!(
        s.forge.kind,
        nightshift_core::settings::forge::ForgeKind::Github
    );
    assert!(s.llm.is_configured());
}
