//! The secrets port on SSM Parameter Store: SecureString parameters read with
//! decryption, cached for the life of the process (a Lambda's execution
//! environment, a worker's task), never logged. A port name `github-token`
//! is the parameter `<prefix>github-token`; a name starting with `/` is a
//! full parameter name.

use async_trait::async_trait;
use aws_sdk_ssm::Client;
use nightshift_core::ports::{SecretError, Secrets};
use secrecy::SecretString;
use std::collections::HashMap;
use tokio::sync::Mutex;

pub struct SsmSecrets {
    client: Client,
    prefix: String,
    /// Port names whose parameter the deployment names explicitly.
    aliases: HashMap<String, String>,
    cache: Mutex<HashMap<String, SecretString>>,
}

impl SsmSecrets {
    /// `prefix`: where the parameters live, e.g. `/nightshift/`.
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            aliases: HashMap::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Port name `name` is the parameter `parameter` (the template passes
    /// parameter names, e.g. `GITHUB_TOKEN_PARAMETER`).
    pub fn alias(mut self, name: impl Into<String>, parameter: impl Into<String>) -> Self {
        self.aliases.insert(name.into(), parameter.into());
        self
    }

    /// The parameter name behind a port name.
    pub fn parameter_name(&self, name: &str) -> String {
        if let Some(p) = self.aliases.get(name) {
            p.clone()
        } else if name.starts_with('/') {
            name.to_string()
        } else {
            format!("{}{name}", self.prefix)
        }
    }
}

#[async_trait]
impl Secrets for SsmSecrets {
    async fn get(&self, name: &str) -> Result<SecretString, SecretError> {
        let mut cache = self.cache.lock().await;
        if let Some(v) = cache.get(name) {
            return Ok(v.clone());
        }
        let parameter = self.parameter_name(name);
        let out = self
            .client
            .get_parameter()
            .name(&parameter)
            .with_decryption(true)
            .send()
            .await;
        let value = match out {
            Ok(o) => o
                .parameter()
                .and_then(|p| p.value())
                .map(|v| SecretString::from(v.to_string())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                None
            }
            Err(e) => {
                return Err(SecretError::Backend {
                    name: name.to_string(),
                    source: Box::new(e),
                });
            }
        };
        let Some(value) = value else {
            return Err(SecretError::Missing {
                name: name.to_string(),
                hint: format!(
                    "put it in SSM: aws ssm put-parameter --type SecureString --name {parameter} --value ..."
                ),
            });
        };
        cache.insert(name.to_string(), value.clone());
        Ok(value)
    }
}
