//! The AWS adapters from the environment the template sets, built once per
//! execution environment (in `main`, before the runtime starts polling), so
//! TLS and credentials are warmed in init. Settings come from an SSM
//! parameter and `NIGHTSHIFT_*` variables; the rest is named by the template:
//! `TABLE_NAME`; `<QUEUE>_QUEUE_URL` and `<QUEUE>_DLQ_URL` for TRIAGE, PLAN,
//! DISPATCH, REVIEW and JOB_EVENTS; `CLUSTER`, `TASK_DEFINITION`, `SUBNETS`,
//! `SECURITY_GROUP`, `ASSIGN_PUBLIC_IP` for the launcher; and the names (never
//! the values) of SSM parameters: `GITHUB_TOKEN_PARAMETER`,
//! `LLM_API_KEY_PARAMETER`, `WEBHOOK_SECRET_PARAMETER`, `SLACK_WEBHOOK_PARAMETER`,
//! and `SETTINGS_PARAMETER` (the settings document, see [`settings`]).

use anyhow::Context;
use nightshift_aws::{
    CloudWatchLogs, DynamoStore, EcsConfig, EcsLauncher, QueueUrls, SqsQueue, SsmSecrets,
};
use nightshift_core::clock::SystemClock;
use nightshift_core::forge::{
    CheckRun, Forge, ForgeError, NewPullRequest, PrComment, PullRequest, RepoAccess,
};
use nightshift_core::llm::Models;
use nightshift_core::ports::{
    IdempotencyStore, JobLauncher, LaunchError, LaunchRequest, LaunchState, Secrets, Stores,
};
use nightshift_core::queue::names;
use nightshift_core::settings::Settings;
use nightshift_roles::Deps;
use std::collections::HashMap;
use std::sync::Arc;

/// The queues' URLs from the environment.
pub fn queue_urls(env: Env<'_>) -> anyhow::Result<HashMap<String, QueueUrls>> {
    let mut out = HashMap::new();
    for q in names::ALL {
        let key = q.to_uppercase().replace('-', "_");
        let var = |name: String| {
            env(&name).with_context(|| format!("{name} is not set (the template sets it)"))
        };
        out.insert(
            q.to_string(),
            QueueUrls {
                url: var(format!("{key}_QUEUE_URL"))?,
                dlq_url: var(format!("{key}_DLQ_URL"))?,
            },
        );
    }
    Ok(out)
}

/// A launcher for functions that launch nothing: says so if asked.
struct NoLauncher;

#[async_trait::async_trait]
impl JobLauncher for NoLauncher {
    async fn launch(&self, req: &LaunchRequest) -> Result<String, LaunchError> {
        Err(LaunchError {
            message: format!("this function launches no jobs (asked for {})", req.job_id),
            source: None,
        })
    }
    async fn status(&self, _handle: &str) -> Result<LaunchState, LaunchError> {
        Ok(LaunchState::Unknown)
    }
    async fn stop(&self, handle: &str, _reason: &str) -> Result<(), LaunchError> {
        Err(LaunchError {
            message: format!("this function cannot stop {handle}"),
            source: None,
        })
    }
}

/// The forge of a function that may not read the forge's token.
struct NoForge(String);

fn no_forge(why: &str) -> ForgeError {
    ForgeError::Refused {
        forge: "none".into(),
        message: format!("this function has no forge access: {why}"),
    }
}

#[async_trait::async_trait]
impl Forge for NoForge {
    fn name(&self) -> &str {
        "none"
    }
    async fn access(&self, _: &str) -> Result<RepoAccess, ForgeError> {
        Err(no_forge(&self.0))
    }
    async fn open_pr(&self, _: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        Err(no_forge(&self.0))
    }
    async fn get_pr(&self, _: &str, _: u64) -> Result<PullRequest, ForgeError> {
        Err(no_forge(&self.0))
    }
    async fn list_prs(&self, _: Option<&str>) -> Result<Vec<PullRequest>, ForgeError> {
        Err(no_forge(&self.0))
    }
    async fn comment(&self, _: &str, _: u64, _: &str) -> Result<PrComment, ForgeError> {
        Err(no_forge(&self.0))
    }
    async fn comments(&self, _: &str, _: u64) -> Result<Vec<PrComment>, ForgeError> {
        Err(no_forge(&self.0))
    }
    async fn check_runs(&self, _: &str, _: &str) -> Result<Vec<CheckRun>, ForgeError> {
        Err(no_forge(&self.0))
    }
    async fn delete_branch(&self, _: &str, _: &str) -> Result<(), ForgeError> {
        Err(no_forge(&self.0))
    }
    async fn can_write(&self, _: &str, _: &str) -> Result<bool, ForgeError> {
        Err(no_forge(&self.0))
    }
    async fn merge_pr(&self, _: &str, _: u64, _: &str) -> Result<PullRequest, ForgeError> {
        Err(no_forge(&self.0))
    }
}

/// Where secrets come from: SSM in the functions; the environment in the
/// Fargate worker, whose task definition injects them from SSM by reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsFrom {
    Ssm,
    Environment,
}

/// What a function uses beyond the table, the queues and the logs. The
/// template's IAM grants the matching secrets to exactly these functions, so a
/// function that needs nothing makes no SSM call for them in init.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// The forge (GitHub), with its token.
    pub forge: bool,
    /// The LLM models with their key, when the settings configure a provider.
    pub models: bool,
}

impl Needs {
    pub const NOTHING: Needs = Needs {
        forge: false,
        models: false,
    };
    pub const FORGE: Needs = Needs {
        forge: true,
        models: false,
    };
    pub const FORGE_AND_MODELS: Needs = Needs {
        forge: true,
        models: true,
    };
}

/// Every port on AWS from the process environment, plus the idempotency
/// records (in the same table), with secrets from SSM.
pub async fn aws_deps(needs: Needs) -> anyhow::Result<(Deps, Arc<dyn IdempotencyStore>)> {
    aws_deps_with(SecretsFrom::Ssm, needs).await
}

/// Every port on AWS from the process environment, with secrets from `from`.
pub async fn aws_deps_with(
    from: SecretsFrom,
    needs: Needs,
) -> anyhow::Result<(Deps, Arc<dyn IdempotencyStore>)> {
    let sdk = aws_config::load_from_env().await;
    deps_from(&|k| std::env::var(k).ok(), &sdk, from, needs).await
}

/// The settings: the TOML document in the SSM parameter `SETTINGS_PARAMETER`
/// names (read once, in init), then the `NIGHTSHIFT_*` variables. Without
/// `SETTINGS_PARAMETER`, only the variables (and a `nightshift.toml` in the
/// working directory, as locally). A missing or invalid document fails init
/// with what to do, rather than running on defaults nobody chose.
pub async fn settings(env: Env<'_>, ssm: &aws_sdk_ssm::Client) -> anyhow::Result<Settings> {
    let Some(name) = env("SETTINGS_PARAMETER") else {
        return Ok(nightshift_roles::config::load(None)?);
    };
    let out = ssm
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await;
    let doc = match out {
        Ok(o) => o
            .parameter()
            .and_then(|p| p.value())
            .unwrap_or_default()
            .to_string(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            anyhow::bail!(
                "the settings parameter {name} does not exist: create it with \
                 `aws ssm put-parameter --type String --name {name} --value file://nightshift.toml` \
                 (a document of only a comment gives the defaults)"
            )
        }
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("reading the settings parameter {name}"))
            );
        }
    };
    Ok(nightshift_roles::config::load_toml(
        &doc,
        &format!("settings parameter {name}"),
    )?)
}

/// Looks up an environment variable (the process's, or a test's map).
pub type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// Every port on AWS from `env` and `sdk`: what [`aws_deps`] does, with the
/// environment and the SDK's endpoint given (the tests point it at moto).
pub async fn deps_from(
    env: Env<'_>,
    sdk: &aws_config::SdkConfig,
    from: SecretsFrom,
    needs: Needs,
) -> anyhow::Result<(Deps, Arc<dyn IdempotencyStore>)> {
    let var = |name: &str| -> anyhow::Result<String> {
        env(name).with_context(|| format!("{name} is not set (the template sets it)"))
    };
    let ssm_client = aws_sdk_ssm::Client::new(sdk);
    let mut settings = settings(env, &ssm_client).await?;
    settings.log_format = nightshift_core::settings::LogFormat::Json;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        var("TABLE_NAME")?,
    ));
    let queue = Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::new(sdk),
        queue_urls(env)?,
        settings.queue.max_receives,
    ));
    // The template names the parameters; the ports ask by the settings'
    // names, which these aliases map (the LLM providers' key is `llm-api-key`).
    let mut ssm = SsmSecrets::new(ssm_client, "/nightshift/");
    for (name, key) in [
        (
            settings.forge.github.token_secret.clone(),
            "GITHUB_TOKEN_PARAMETER",
        ),
        (
            settings.api.webhook_secret.clone(),
            "WEBHOOK_SECRET_PARAMETER",
        ),
        ("llm-api-key".to_string(), "LLM_API_KEY_PARAMETER"),
        ("slack-webhook".to_string(), "SLACK_WEBHOOK_PARAMETER"),
    ] {
        if let Some(p) = env(key) {
            ssm = ssm.alias(name, p);
        }
    }
    if env("SLACK_WEBHOOK_PARAMETER").is_some() && settings.report.slack_webhook_secret.is_none() {
        settings.report.slack_webhook_secret = Some("slack-webhook".into());
    }
    let secrets: Arc<dyn Secrets> = match from {
        SecretsFrom::Ssm => Arc::new(ssm),
        SecretsFrom::Environment => Arc::new(nightshift_local::EnvSecrets::new(None)),
    };
    let launcher: Arc<dyn JobLauncher> = match env("CLUSTER") {
        Some(cluster) => Arc::new(EcsLauncher::new(
            aws_sdk_ecs::Client::new(sdk),
            EcsConfig {
                cluster,
                task_definition: var("TASK_DEFINITION")?,
                container: crate::handlers::WORKER_CONTAINER.into(),
                subnets: var("SUBNETS")?.split(',').map(str::to_string).collect(),
                security_groups: vec![var("SECURITY_GROUP")?],
                assign_public_ip: env("ASSIGN_PUBLIC_IP")
                    .is_some_and(|v| v.eq_ignore_ascii_case("ENABLED") || v == "true"),
            },
        )),
        None => Arc::new(NoLauncher),
    };
    let forge: Arc<dyn Forge> = if needs.forge {
        let gh = settings.forge.github.clone();
        let token = secrets
            .get(&gh.token_secret)
            .await
            .context("the GitHub forge's token")?;
        Arc::new(nightshift_forge::GitHubForge::new(gh, token).context("the GitHub forge")?)
    } else {
        Arc::new(NoForge(
            "the template grants this function no forge token".into(),
        ))
    };
    let llm: Option<Arc<dyn Models>> = if needs.models && settings.llm.is_configured() {
        let router = nightshift_agent::llm::Router::build(&settings.llm, secrets.as_ref())
            .await
            .context("the LLM providers")?;
        Some(Arc::new(nightshift_agent::llm::RouterModels(Arc::new(
            router,
        ))))
    } else {
        None
    };
    let idem: Arc<dyn IdempotencyStore> = store.clone();
    let deps = Deps {
        stores: Stores::from_one(store),
        queue,
        launcher,
        logs: Arc::new(CloudWatchLogs::new(aws_sdk_cloudwatchlogs::Client::new(
            sdk,
        ))),
        forge,
        llm,
        secrets,
        clock: Arc::new(SystemClock),
        settings: Arc::new(settings),
    };
    Ok((deps, idem))
}

/// JSON logs to stderr (CloudWatch), `RUST_LOG` or `info`.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .json()
        .with_current_span(false)
        .without_time()
        .try_init();
}
