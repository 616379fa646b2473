//! The tools the coding agent calls inside its sandbox checkout, and the loop
//! breaker that stops it when it goes round in circles.
//!
//! Every tool failure (a bad argument, a missing file, a path outside the
//! workspace, an edit that does not apply, a command that fails) is an
//! [`ToolOutcome`] with `ok: false` and a message the model can act on, never a
//! panic or an `Err` that would end the agent loop: the model reads the message
//! and tries again. Every output is bounded, because it all goes back into the
//! model's context.
//!
//! # Layout
//! - [`workspace`]: path confinement ([`Workspace::resolve`]).
//! - `files`: read_file, write_file, edit. `search`: list, grep (gitignore-aware).
//! - `process`: run, the sandboxed shell ([`is_secret_env_name`]); `detect`: the
//!   test command; `specs`: what the model is told; `text`: output bounding.
//! - `breaker`: the loop breaker ([`LoopBreaker`]).

pub mod breaker;
mod detect;
mod files;
mod process;
mod search;
mod specs;
pub(crate) mod text;
pub mod workspace;

pub use breaker::LoopBreaker;
pub use process::is_secret_env_name;
pub use workspace::{PathError, Workspace};

use nightshift_core::llm::{ToolCall, ToolSpec};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::ffi::OsString;
use std::time::Duration;

/// Hard cap on any tool's output (read_file's own cap fits under it).
const MAX_OUTPUT: usize = 96 * 1024;

/// What a tool call produced, to be sent back to the model as the tool result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutcome {
    /// False when the tool refused or failed, or a command exited non-zero.
    pub ok: bool,
    pub output: String,
}

impl ToolOutcome {
    pub fn ok(output: impl Into<String>) -> Self {
        Self {
            ok: true,
            output: output.into(),
        }
    }
    pub fn err(output: impl Into<String>) -> Self {
        Self {
            ok: false,
            output: output.into(),
        }
    }
    fn bounded(mut self) -> Self {
        if self.output.len() > MAX_OUTPUT {
            self.output = text::cut_middle(&self.output, MAX_OUTPUT / 2, MAX_OUTPUT / 2);
        }
        self
    }
}

impl From<Result<String, String>> for ToolOutcome {
    fn from(r: Result<String, String>) -> Self {
        match r {
            Ok(s) => Self::ok(s),
            Err(s) => Self::err(s),
        }
    }
}

/// The result of running the repository's tests, judged by the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRun {
    pub passed: bool,
    /// The command run (empty if none was configured or detected).
    pub command: String,
    /// The verdict line, then the bounded output.
    pub output: String,
}

impl TestRun {
    /// The last `chars` characters of the output (where a failure says why).
    pub fn tail(&self, chars: usize) -> &str {
        let start = self
            .output
            .char_indices()
            .rev()
            .nth(chars.saturating_sub(1))
            .map_or(0, |(i, _)| i);
        &self.output[start..]
    }
}

/// How the toolbox runs commands.
#[derive(Debug, Clone)]
pub struct ToolboxConfig {
    /// `run`'s timeout when the model gives none.
    pub default_timeout: Duration,
    /// The most `run` may ask for; larger requests are capped.
    pub max_timeout: Duration,
    /// The timeout for `run_tests`.
    pub test_timeout: Duration,
    /// The test command; `None` detects it from the repository's files.
    pub test_command: Option<String>,
    /// Variables copied from this process's environment into tool subprocesses
    /// when set. Credential-looking names are dropped ([`is_secret_env_name`]).
    pub pass_env: Vec<String>,
    /// Variables set to explicit values in tool subprocesses (same filter).
    pub set_env: Vec<(String, String)>,
}

impl Default for ToolboxConfig {
    fn default() -> Self {
        Self {
            default_timeout: Duration::from_secs(120),
            max_timeout: Duration::from_secs(600),
            test_timeout: Duration::from_secs(1200),
            test_command: None,
            pass_env: Vec::new(),
            set_env: Vec::new(),
        }
    }
}

/// The agent's tools, bound to one workspace.
#[derive(Debug, Clone)]
pub struct Toolbox {
    workspace: Workspace,
    config: ToolboxConfig,
    env: Vec<(String, OsString)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunArgs {
    command: String,
    timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

impl Toolbox {
    pub fn new(workspace: Workspace, config: ToolboxConfig) -> Self {
        let env = process::sandbox_env(workspace.root(), &config.pass_env, &config.set_env);
        Self {
            workspace,
            config,
            env,
        }
    }

    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The names of the variables tool subprocesses get (values not shown).
    pub fn env_names(&self) -> Vec<&str> {
        self.env.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The configured test command, else the detected one.
    pub fn test_command(&self) -> Option<String> {
        self.config
            .test_command
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or_else(|| detect::detect_test_command(self.workspace.root()))
    }

    pub fn specs(&self) -> Vec<ToolSpec> {
        specs::all(
            self.config.default_timeout,
            self.config.max_timeout,
            self.test_command().as_deref(),
        )
    }

    /// Runs one tool call. Never fails: problems are `ok: false` outcomes.
    pub async fn execute(&self, call: &ToolCall) -> ToolOutcome {
        let args = normalize_args(&call.arguments);
        let name = call.name.as_str();
        let outcome = match name {
            "read_file" => self.blocking(name, args, files::read_file).await,
            "write_file" => self.blocking(name, args, files::write_file).await,
            "edit" => self.blocking(name, args, files::edit).await,
            "list" => self.blocking(name, args, search::list).await,
            "grep" => self.blocking(name, args, search::grep).await,
            "run" => match parse::<RunArgs>(name, args) {
                Ok(a) => self.run(&a).await,
                Err(e) => e,
            },
            "run_tests" => match parse::<NoArgs>(name, args) {
                Ok(_) => {
                    let t = self.run_tests().await;
                    ToolOutcome {
                        ok: t.passed,
                        output: t.output,
                    }
                }
                Err(e) => e,
            },
            other => ToolOutcome::err(format!(
                "unknown tool `{other}`; the tools are read_file, write_file, edit, list, grep, run, run_tests"
            )),
        };
        outcome.bounded()
    }

    /// Runs the repository's tests in the sandbox; the worker's own check.
    pub async fn run_tests(&self) -> TestRun {
        let Some(command) = self.test_command() else {
            return TestRun {
                passed: false,
                command: String::new(),
                output: "no test command: none is configured and none was detected (looked for Cargo.toml, \
                         package.json with a test script, pyproject.toml/setup.cfg/pytest.ini or tests/*.py, \
                         go.mod, a Makefile with a test target)"
                    .into(),
            };
        };
        let timeout = self.config.test_timeout;
        match process::run_shell(&command, self.workspace.root(), &self.env, timeout).await {
            Ok(f) => {
                let passed = f.success();
                let verdict = if passed { "PASSED" } else { "FAILED" };
                TestRun {
                    passed,
                    output: format!(
                        "tests {verdict} (`{command}`: {})\n{}",
                        f.verdict(timeout),
                        f.output
                    ),
                    command,
                }
            }
            Err(e) => TestRun {
                passed: false,
                output: format!("tests could not run (`{command}`): {e}"),
                command,
            },
        }
    }

    async fn run(&self, a: &RunArgs) -> ToolOutcome {
        if a.command.trim().is_empty() {
            return ToolOutcome::err("`command` is empty");
        }
        let max = self.config.max_timeout.max(Duration::from_secs(1));
        let asked = a.timeout_secs.map(|s| Duration::from_secs(s.max(1)));
        let timeout = asked.unwrap_or(self.config.default_timeout).min(max);
        let capped = if asked.is_some_and(|t| t > max) {
            format!(" (timeout capped at {} s)", max.as_secs())
        } else {
            String::new()
        };
        match process::run_shell(&a.command, self.workspace.root(), &self.env, timeout).await {
            Ok(f) => {
                let body = if f.empty {
                    "(no output)".to_string()
                } else {
                    f.output.clone()
                };
                ToolOutcome {
                    ok: f.success(),
                    output: format!("{}{capped}\n--- output ---\n{body}", f.verdict(timeout)),
                }
            }
            Err(e) => ToolOutcome::err(e),
        }
    }

    /// Parses the arguments and runs a file tool on the blocking pool.
    async fn blocking<A, F>(&self, name: &str, args: serde_json::Value, f: F) -> ToolOutcome
    where
        A: DeserializeOwned + Send + 'static,
        F: FnOnce(&Workspace, &A) -> Result<String, String> + Send + 'static,
    {
        let a = match parse::<A>(name, args) {
            Ok(a) => a,
            Err(e) => return e,
        };
        let ws = self.workspace.clone();
        match tokio::task::spawn_blocking(move || f(&ws, &a)).await {
            Ok(r) => r.into(),
            Err(e) => ToolOutcome::err(format!("{name} failed internally: {e}")),
        }
    }
}

/// Arguments as an object: `null` is `{}`, and a string holding JSON (some
/// providers send arguments that way) is parsed.
pub(crate) fn normalize_args(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Null => serde_json::json!({}),
        serde_json::Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

fn parse<A: DeserializeOwned>(name: &str, args: serde_json::Value) -> Result<A, ToolOutcome> {
    serde_json::from_value(args)
        .map_err(|e| ToolOutcome::err(format!("invalid arguments for {name}: {e}")))
}
