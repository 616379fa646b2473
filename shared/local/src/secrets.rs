//! Secrets for one machine: an environment variable, or a file in a secrets
//! directory. Values are `SecretString`s: they never print.

use async_trait::async_trait;
use nightshift_core::ports::{SecretError, Secrets};
use secrecy::SecretString;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct EnvSecrets {
    dir: Option<PathBuf>,
}

impl EnvSecrets {
    /// Looks in the environment, then (if given) in `dir/<name>`.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    /// `llm/openai-key` -> `NIGHTSHIFT_SECRET_LLM_OPENAI_KEY`.
    pub fn env_name(name: &str) -> String {
        let mut s = String::from("NIGHTSHIFT_SECRET_");
        s.extend(name.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        }));
        s
    }
}

#[async_trait]
impl Secrets for EnvSecrets {
    async fn get(&self, name: &str) -> Result<SecretString, SecretError> {
        let var = Self::env_name(name);
        if let Ok(v) = std::env::var(&var)
            && !v.is_empty()
        {
            return Ok(SecretString::from(v));
        }
        if let Some(dir) = &self.dir {
            let safe = name.replace(['/', '\\'], "_");
            let path = dir.join(&safe);
            match std::fs::read_to_string(&path) {
                Ok(v) => {
                    return Ok(SecretString::from(
                        v.trim_end_matches(['\n', '\r']).to_string(),
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(SecretError::Backend {
                        name: name.to_string(),
                        source: Box::new(e),
                    });
                }
            }
        }
        Err(SecretError::Missing {
            name: name.to_string(),
            hint: match &self.dir {
                Some(d) => format!(
                    "set {var} or write it to {}",
                    d.join(name.replace(['/', '\\'], "_")).display()
                ),
                None => format!("set {var}"),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[tokio::test]
    async fn reads_files_and_never_prints_values() {
        let dir = std::env::temp_dir().join(format!("ns-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("github_token"), "ghp_secretvalue\n").unwrap();
        let s = EnvSecrets::new(Some(dir.clone()));
        let v = s.get("github_token").await.unwrap();
        assert_eq!(v.expose_secret(), "ghp_secretvalue");
        assert!(!format!("{v:?}").contains("ghp_"));
        let e = s.get("missing").await.unwrap_err().to_string();
        assert!(e.contains("NIGHTSHIFT_SECRET_MISSING"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
