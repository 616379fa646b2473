//! Settings, layered: the defaults in `nightshift_core::settings`, then a TOML
//! file (`nightshift.toml` in the working directory, or the path given), then
//! `NIGHTSHIFT_*` environment variables with `__` between levels
//! (`NIGHTSHIFT_PORT=9000`, `NIGHTSHIFT_DISPATCHER__MAX_CONCURRENT_JOBS=2`).

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use nightshift_core::settings::Settings;
use std::path::Path;

pub const DEFAULT_FILE: &str = "nightshift.toml";

#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

/// Loads settings. `file`: an explicit path (which must exist), or `None` for
/// `nightshift.toml` if there is one.
pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
    let mut fig = Figment::from(Serialized::defaults(Settings::default()));
    match file {
        Some(path) => {
            if !path.exists() {
                return Err(ConfigError(Box::new(figment::Error::from(format!(
                    "settings file {} does not exist",
                    path.display()
                )))));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        None => fig = fig.merge(Toml::file(DEFAULT_FILE)),
    }
    with_env(fig)
}

/// Loads settings from a TOML document instead of a file (on AWS, the SSM
/// parameter the template names), then the `NIGHTSHIFT_*` variables. `source`
/// names the document in errors.
pub fn load_toml(doc: &str, source: &str) -> Result<Settings, ConfigError> {
    let fig = Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(doc));
    with_env(fig).map_err(|ConfigError(e)| {
        ConfigError(Box::new(figment::Error::from(format!("{source}: {e}"))))
    })
}

fn with_env(mut fig: Figment) -> Result<Settings, ConfigError> {
    // NIGHTSHIFT_CONFIG names the file; NIGHTSHIFT_JOB_ID / _ATTEMPT tell a worker
    // its job; NIGHTSHIFT_SECRET_* are secrets, read by the secrets port. None of
    // them are settings.
    let env = Env::prefixed("NIGHTSHIFT_").filter(|k| {
        let k = k.as_str().to_ascii_lowercase();
        !matches!(k.as_str(), "config" | "job_id" | "job_attempt") && !k.starts_with("secret_")
    });
    fig = fig.merge(env.split("__"));
    fig.extract().map_err(|e| ConfigError(Box::new(e)))
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's own signature
mod tests {
    use super::*;

    #[test]
    fn a_document_loads_like_a_file_and_its_errors_name_it() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("NIGHTSHIFT_PORT", "9003");
            let s = load_toml("[dispatcher]\nmax_concurrent_jobs = 4\n", "/x/settings").unwrap();
            assert_eq!((s.port, s.dispatcher.max_concurrent_jobs), (9003, 4));
            let e = load_toml(
                "[dispatcher]\nmax_concurrent_jobs = \"many\"\n",
                "/x/settings",
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.contains("/x/settings") && e.contains("max_concurrent_jobs"),
                "{e}"
            );
            let e = load_toml("[dispatcher\n", "/x/settings")
                .unwrap_err()
                .to_string();
            assert!(e.contains("/x/settings"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn layers_file_then_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "port = 9001\n[dispatcher]\nmax_concurrent_jobs = 2\n",
            )?;
            let s = load(Some(Path::new("custom.toml"))).unwrap();
            assert_eq!(
                (s.port, s.dispatcher.max_concurrent_jobs, s.host.as_str()),
                (9001, 2, "127.0.0.1")
            );
            jail.set_env("NIGHTSHIFT_PORT", "9002");
            jail.set_env("NIGHTSHIFT_DISPATCHER__MAX_CONCURRENT_JOBS", "7");
            jail.set_env("NIGHTSHIFT_SECRET_GITHUB_TOKEN", "ignored here");
            jail.set_env("NIGHTSHIFT_JOB_ID", "t_1-b1");
            let s = load(Some(Path::new("custom.toml"))).unwrap();
            assert_eq!((s.port, s.dispatcher.max_concurrent_jobs), (9002, 7));
            Ok(())
        });
    }

    #[test]
    fn loads_the_llm_table() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "nightshift.toml",
                "[[llm.providers]]\nname = \"ollama\"\nkind = \"openai\"\nbase_url = \"http://localhost:11434/v1\"\n\n[llm.routes]\nbuilder = [\"ollama:qwen2.5-coder:32b\"]\n",
            )?;
            let s = load(None).unwrap();
            assert!(s.llm.is_configured());
            assert_eq!(s.llm.routes["builder"][0].model, "qwen2.5-coder:32b");
            jail.create_file(
                "nightshift.toml",
                "[llm.routes]\nbuilder = [\"no-colon\"]\n",
            )?;
            assert!(
                load(None)
                    .unwrap_err()
                    .to_string()
                    .contains("provider:model")
            );
            Ok(())
        });
    }

    #[test]
    fn selects_the_github_forge() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "nightshift.toml",
                "[forge]\nkind = \"github\"\n[forge.github]\ntoken_secret = \"gh/acme\"\n",
            )?;
            let s = load(None).unwrap();
            assert_eq!(
                s.forge.kind,
                nightshift_core::settings::forge::ForgeKind::Github
            );
            assert_eq!(
                (
                    s.forge.github.token_secret.as_str(),
                    s.forge.github.api_url.as_str()
                ),
                ("gh/acme", "https://api.github.com")
            );
            Ok(())
        });
    }

    #[test]
    fn names_the_bad_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("nightshift.toml", "prot = 1\n")?;
            let e = load(None).unwrap_err().to_string();
            assert!(e.contains("prot"), "{e}");
            jail.create_file("nightshift.toml", "port = \"eighty\"\n")?;
            let e = load(None).unwrap_err().to_string();
            assert!(e.contains("port"), "{e}");
            assert!(
                load(Some(Path::new("missing.toml")))
                    .unwrap_err()
                    .to_string()
                    .contains("does not exist")
            );
            Ok(())
        });
    }
}
