//! Running git for the builder: the real binary, an argument list (never a
//! shell string), a scrubbed environment, and settings on the command line that
//! the checkout cannot override.
//!
//! The checkout is written by the agent, so its `.git/config` and hooks are
//! untrusted: every command disables hooks, fsmonitor, askpass programs, the
//! `ext::` transport and any credential helper configured in the repository.
//! A token reaches git only through [`TOKEN_ENV`] in the environment of the one
//! git process that needs it, read by a credential helper given with `-c` and
//! scoped to the forge's `scheme://host`, so a URL rewritten by the checkout's
//! config (`insteadOf`) to another host never receives it. Nothing is written:
//! `git -c` settings are not persisted, unlike `git clone -c`.

use super::GitError;
use secrecy::{ExposeSecret, SecretString};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// The environment variable the credential helper reads the token from.
pub const TOKEN_ENV: &str = "NIGHTSHIFT_GIT_TOKEN";

/// Run by git as `sh -c '<helper> "$@"' <helper> get|store|erase`: answers
/// `get` from the environment and ignores the rest (nothing is stored).
const HELPER: &str = "!f() { test \"$1\" = get || return 0; echo username=x-access-token; \
                      printf 'password=%s\\n' \"$NIGHTSHIFT_GIT_TOKEN\"; }; f";

const MAX_STDERR: usize = 4000;

/// One git invocation being built.
pub(crate) struct GitCmd {
    cmd: tokio::process::Command,
    shown: Vec<String>,
    secret: Option<SecretString>,
    stdin: Option<Vec<u8>>,
}

/// `scheme://host[:port]` of an http(s) URL, refusing credentials in it.
pub(crate) fn credential_scope(url: &str) -> Result<Option<String>, GitError> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Ok(None);
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(GitError::Refused(
            "the repository URL must not carry credentials".into(),
        ));
    }
    let http = scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http");
    Ok((http && !authority.is_empty()).then(|| format!("{scheme}://{authority}")))
}

impl GitCmd {
    /// git in `dir` (or the current directory), hardened as the module says.
    pub(crate) fn new(dir: Option<&Path>) -> Self {
        let mut cmd = tokio::process::Command::new("git");
        cmd.env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
            )
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            // Set but empty: git then ignores core.askPass and SSH_ASKPASS.
            .env("GIT_ASKPASS", "")
            .env("GIT_PAGER", "cat")
            .env("LC_ALL", "C")
            .kill_on_drop(true);
        if let Some(dir) = dir {
            cmd.arg("-C").arg(dir);
        }
        for setting in [
            "core.hooksPath=/dev/null",
            "core.fsmonitor=false",
            "protocol.ext.allow=never",
            "commit.gpgSign=false",
            // An empty value clears every helper configured before it.
            "credential.helper=",
        ] {
            cmd.arg("-c").arg(setting);
        }
        Self {
            cmd,
            shown: Vec::new(),
            secret: None,
            stdin: None,
        }
    }

    pub(crate) fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.shown.push(a.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(a);
        self
    }

    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub(crate) fn stdin(mut self, bytes: Vec<u8>) -> Self {
        self.stdin = Some(bytes);
        self
    }

    /// Lets this process authenticate to `url`'s host with `token` (see the
    /// module docs). Must come before the subcommand's arguments.
    pub(crate) fn credentials(
        mut self,
        url: &str,
        token: Option<&SecretString>,
    ) -> Result<Self, GitError> {
        let scope = credential_scope(url)?;
        if let (Some(scope), Some(token)) = (scope, token) {
            self.cmd
                .arg("-c")
                .arg(format!("credential.{scope}.helper={HELPER}"))
                .env(TOKEN_ENV, token.expose_secret());
            self.secret = Some(token.clone());
        }
        Ok(self)
    }

    fn redact(&self, text: &str) -> String {
        match &self.secret {
            Some(s) if !s.expose_secret().is_empty() => {
                text.replace(s.expose_secret(), "[redacted]")
            }
            _ => text.to_string(),
        }
    }

    /// Runs to completion: `(success, stdout)`; stderr goes into errors only.
    pub(crate) async fn output(mut self) -> Result<(bool, String, String), GitError> {
        let command = self.shown.join(" ");
        tracing::debug!(%command, "git");
        let spawn_err = |source| GitError::Spawn {
            command: command.clone(),
            source,
        };
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().map_err(spawn_err)?;
        if let (Some(bytes), Some(mut pipe)) = (self.stdin.take(), child.stdin.take()) {
            pipe.write_all(&bytes).await.map_err(spawn_err)?;
        }
        let out = child.wait_with_output().await.map_err(spawn_err)?;
        let mut stderr = self.redact(&String::from_utf8_lossy(&out.stderr));
        if stderr.len() > MAX_STDERR {
            let mut cut = MAX_STDERR;
            while !stderr.is_char_boundary(cut) {
                cut -= 1;
            }
            stderr.truncate(cut);
        }
        let stdout = self.redact(&String::from_utf8_lossy(&out.stdout));
        Ok((out.status.success(), stdout, stderr))
    }

    /// Runs to completion; stdout on success, [`GitError::Failed`] otherwise.
    pub(crate) async fn run(self) -> Result<String, GitError> {
        let command = self.shown.join(" ");
        let (ok, stdout, stderr) = self.output().await?;
        if ok {
            Ok(stdout)
        } else {
            Err(GitError::Failed {
                command,
                stderr: stderr.trim().to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "ghs_unit-test-token-5d1e";

    async fn fill(scope_url: &str, asked_host: &str) -> (bool, String) {
        let token = SecretString::from(TOKEN);
        let cmd = GitCmd::new(None)
            .credentials(scope_url, Some(&token))
            .unwrap()
            .args(["credential", "fill"])
            .stdin(format!("protocol=https\nhost={asked_host}\n\n").into_bytes());
        let (ok, stdout, _) = cmd.output().await.unwrap();
        (ok, stdout)
    }

    #[tokio::test]
    async fn the_helper_answers_for_the_forge_host_only() {
        // `git credential fill` is what git runs before an authenticated fetch or push.
        let (ok, out) = fill(
            "https://forge.example.com/acme/app.git",
            "forge.example.com",
        )
        .await;
        assert!(ok, "{out}");
        assert!(out.contains("username=x-access-token"), "{out}");
        assert!(
            out.contains("password=[redacted]"),
            "output is redacted: {out}"
        );
        let (ok, out) = fill("https://forge.example.com/acme/app.git", "evil.example.com").await;
        assert!(!ok && !out.contains("password"), "{out}");
    }

    #[test]
    fn credentials_in_the_url_are_refused() {
        assert!(credential_scope("https://x:tok@github.com/a/b").is_err());
        assert_eq!(
            credential_scope("https://github.com:8443/a/b.git")
                .unwrap()
                .as_deref(),
            Some("https://github.com:8443")
        );
        assert_eq!(credential_scope("file:///tmp/a.git").unwrap(), None);
    }
}
