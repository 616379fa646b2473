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
use nightshift_core::Timestamp;
use nightshift_core::clock::SystemClock;
use nightshift_core::forge::{
    CheckRun, Forge, ForgeError, NewPullRequest, PrComment, PullRequest, RepoAccess,
};
use nightshift_core::llm::Models;
use nightshift_core::ports::{
    IdempotencyStore, JobLauncher, LaunchError, LaunchRequest, LaunchState, LogRecord, LogSource,
    LogSourceError, SecretError, Secrets, Stores,
};
use nightshift_core::queue::names;
use nightshift_core::settings::Settings;
use nightshift_roles::Deps;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A variable the template sets, or an error naming it.
fn required(env: Env<'_>, name: &str) -> anyhow::Result<String> {
    env(name).with_context(|| format!("{name} is not set (the template sets it)"))
}

/// The queues' URLs from the environment.
pub fn queue_urls(env: Env<'_>) -> anyhow::Result<HashMap<String, QueueUrls>> {
    let mut out = HashMap::new();
    for q in names::ALL {
        let key = q.to_uppercase().replace('-', "_");
        out.insert(
            q.to_string(),
            QueueUrls {
                url: required(env, &format!("{key}_QUEUE_URL"))?,
                dlq_url: required(env, &format!("{key}_DLQ_URL"))?,
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

/// The logs of a function that reads none.
struct NoLogs;

#[async_trait::async_trait]
impl LogSource for NoLogs {
    async fn fetch(
        &self,
        source: &str,
        _since: Option<Timestamp>,
        _limit: usize,
    ) -> Result<Vec<LogRecord>, LogSourceError> {
        Err(LogSourceError::Backend {
            source_name: source.to_string(),
            source: "this function reads no logs (the template grants it none)".into(),
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

/// A boxed future, so that an adapter's builder is a plain function pointer.
pub type Building<'a, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'a>>;

/// What a function uses beyond the table, the queues and the secrets: each
/// part is the function pointer that builds its adapter, so a binary links
/// only the adapters (the AWS SDK clients, octocrab, the LLM providers) its
/// `main.rs` asks for. The template's IAM grants the matching secrets and
/// permissions to exactly these functions (a template test compares them).
#[derive(Clone, Copy, Default)]
pub struct Needs {
    forge: Option<for<'a> fn(&'a Settings, &'a dyn Secrets) -> Building<'a, Arc<dyn Forge>>>,
    models: Option<for<'a> fn(&'a Settings, &'a dyn Secrets) -> Building<'a, Arc<dyn Models>>>,
    launcher: Option<fn(&aws_config::SdkConfig, Env<'_>) -> anyhow::Result<Arc<dyn JobLauncher>>>,
    logs: Option<fn(&aws_config::SdkConfig) -> Arc<dyn LogSource>>,
}

impl Needs {
    /// The table, the queues and the settings only.
    pub const NOTHING: Needs = Needs {
        forge: None,
        models: None,
        launcher: None,
        logs: None,
    };

    /// The forge (GitHub), with its token from SSM.
    pub const fn with_forge(self) -> Needs {
        Needs {
            forge: Some(|settings, secrets| Box::pin(github(settings, secrets))),
            ..self
        }
    }

    /// The LLM providers with their key, when the settings configure one.
    pub const fn with_models(self) -> Needs {
        Needs {
            models: Some(|settings, secrets| Box::pin(llm_router(settings, secrets))),
            ..self
        }
    }

    /// The ECS launcher of worker tasks (`CLUSTER` and the rest set).
    pub const fn with_launcher(self) -> Needs {
        Needs {
            launcher: Some(ecs_launcher),
            ..self
        }
    }

    /// CloudWatch Logs, read by discovery and by the api's job logs.
    pub const fn with_logs(self) -> Needs {
        Needs {
            logs: Some(|sdk| {
                Arc::new(CloudWatchLogs::new(aws_sdk_cloudwatchlogs::Client::new(
                    sdk,
                )))
            }),
            ..self
        }
    }

    /// Which parts are asked for: forge, models, launcher, logs.
    pub fn parts(&self) -> [bool; 4] {
        [
            self.forge.is_some(),
            self.models.is_some(),
            self.launcher.is_some(),
            self.logs.is_some(),
        ]
    }
}

impl std::fmt::Debug for Needs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [forge, models, launcher, logs] = self.parts();
        f.debug_struct("Needs")
            .field("forge", &forge)
            .field("models", &models)
            .field("launcher", &launcher)
            .field("logs", &logs)
            .finish()
    }
}

async fn github(settings: &Settings, secrets: &dyn Secrets) -> anyhow::Result<Arc<dyn Forge>> {
    let gh = settings.forge.github.clone();
    let token = secrets
        .get(&gh.token_secret)
        .await
        .context("the GitHub forge's token")?;
    Ok(Arc::new(
        nightshift_forge::GitHubForge::new(gh, token).context("the GitHub forge")?,
    ))
}

async fn llm_router(settings: &Settings, secrets: &dyn Secrets) -> anyhow::Result<Arc<dyn Models>> {
    let router = nightshift_agent::llm::Router::build(&settings.llm, secrets)
        .await
        .context("the LLM providers")?;
    Ok(Arc::new(nightshift_agent::llm::RouterModels(Arc::new(
        router,
    ))))
}

fn ecs_launcher(sdk: &aws_config::SdkConfig, env: Env<'_>) -> anyhow::Result<Arc<dyn JobLauncher>> {
    let var = |name: &str| required(env, name);
    Ok(Arc::new(EcsLauncher::new(
        aws_sdk_ecs::Client::new(sdk),
        EcsConfig {
            cluster: var("CLUSTER")?,
            task_definition: var("TASK_DEFINITION")?,
            container: crate::handlers::WORKER_CONTAINER.into(),
            subnets: var("SUBNETS")?.split(',').map(str::to_string).collect(),
            security_groups: vec![var("SECURITY_GROUP")?],
            assign_public_ip: env("ASSIGN_PUBLIC_IP")
                .is_some_and(|v| v.eq_ignore_ascii_case("ENABLED") || v == "true"),
        },
    )))
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
    let sdk = nightshift_aws::sdk_loader().load().await;
    deps_from(&|k| std::env::var(k).ok(), &sdk, from, needs).await
}

/// The settings: the TOML document in the SSM parameter `SETTINGS_PARAMETER`
/// names (read once, in init, with decryption like a secret), then the
/// `NIGHTSHIFT_*` variables. Without `SETTINGS_PARAMETER`, only the variables
/// (and a `nightshift.toml` in the working directory, as locally). A missing
/// or invalid document fails init with what to do, rather than running on
/// defaults nobody chose.
pub async fn settings(env: Env<'_>, ssm: SsmSecrets) -> anyhow::Result<(Settings, SsmSecrets)> {
    let Some(name) = env("SETTINGS_PARAMETER") else {
        return Ok((nightshift_roles::config::load(None)?, ssm));
    };
    // Under a port name no setting can give a secret.
    const DOCUMENT: &str = "SETTINGS_PARAMETER";
    let ssm = ssm.alias(DOCUMENT, &name);
    let doc = match ssm.get(DOCUMENT).await {
        Ok(doc) => doc,
        Err(SecretError::Missing { .. }) => anyhow::bail!(
            "the settings parameter {name} does not exist: create it with \
             `aws ssm put-parameter --type String --name {name} --value file://nightshift.toml` \
             (a document of only a comment gives the defaults)"
        ),
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("reading the settings parameter {name}"))
            );
        }
    };
    let settings = nightshift_roles::config::load_toml(
        doc.expose_secret(),
        &format!("settings parameter {name}"),
    )?;
    Ok((settings, ssm))
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
    let var = |name: &str| required(env, name);
    let ssm = SsmSecrets::new(aws_sdk_ssm::Client::new(sdk), "/nightshift/");
    let (mut settings, mut ssm) = settings(env, ssm).await?;
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
    let launcher: Arc<dyn JobLauncher> = match needs.launcher {
        Some(build) => build(sdk, env)?,
        None => Arc::new(NoLauncher),
    };
    let forge: Arc<dyn Forge> = match needs.forge {
        Some(build) => build(&settings, secrets.as_ref()).await?,
        None => Arc::new(NoForge(
            "the template grants this function no forge token".into(),
        )),
    };
    let llm: Option<Arc<dyn Models>> = match needs.models {
        Some(build) if settings.llm.is_configured() => {
            Some(build(&settings, secrets.as_ref()).await?)
        }
        _ => None,
    };
    let logs: Arc<dyn LogSource> = match needs.logs {
        Some(build) => build(sdk),
        None => Arc::new(NoLogs),
    };
    let idem: Arc<dyn IdempotencyStore> = store.clone();
    let deps = Deps {
        stores: Stores::from_one(store),
        queue,
        launcher,
        logs,
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
