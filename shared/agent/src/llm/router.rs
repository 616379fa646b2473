//! Which model serves which role, and what happens when it cannot.
//!
//! Each role has an ordered list of (provider, model). A call goes to the first;
//! when that provider is rate limited, failing or unreachable even after its
//! retries, the next one gets the same request. A refused request (4xx), an
//! unreadable answer or an exhausted budget is returned as is: another provider
//! would not fix the request, and a second attempt would spend twice.
//!
//! Every answer says which provider and model gave it and what it used; the
//! router also keeps running totals per provider for reports.

use super::config::{LlmConfigError, LlmSettings};
use super::config::{LlmSettingsExt, ProviderSettingsExt, RetrySettingsExt};
use super::retry::Retrying;
use async_trait::async_trait;
use nightshift_core::llm::{ChatRequest, ChatResponse, LlmError, LlmProvider};
use nightshift_core::ports::Secrets;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// The route used by roles that have none of their own.
pub const DEFAULT_ROUTE: &str = "default";

/// One place a role's calls can go.
#[derive(Clone)]
pub struct Route {
    pub provider: Arc<dyn LlmProvider>,
    pub model: String,
}

impl Route {
    pub fn new(provider: Arc<dyn LlmProvider>, model: impl Into<String>) -> Self {
        Self {
            provider,
            model: model.into(),
        }
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider.name(), self.model)
    }
}

/// Running totals for one provider since the router was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderUsage {
    /// Calls it answered.
    pub calls: u64,
    /// Calls it failed (after its retries), whether or not another provider then answered.
    pub failures: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Default)]
pub struct Router {
    routes: BTreeMap<String, Vec<Route>>,
    usage: Mutex<BTreeMap<String, ProviderUsage>>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `role`'s route, most preferred first. Providers are used as given:
    /// wrap them in [`Retrying`] for retries.
    pub fn with_route(mut self, role: impl Into<String>, routes: Vec<Route>) -> Self {
        self.routes.insert(role.into(), routes);
        self
    }

    /// Builds every declared provider (keys read through `secrets`), wraps each
    /// in [`Retrying`] with the `[llm.retry]` policy, and sets every route.
    pub async fn build(
        settings: &LlmSettings,
        secrets: &dyn Secrets,
    ) -> Result<Self, LlmConfigError> {
        settings.validate()?;
        let policy = settings.retry.policy();
        let mut providers: BTreeMap<&str, Arc<dyn LlmProvider>> = BTreeMap::new();
        for p in &settings.providers {
            let adapter = p.build(secrets).await?;
            providers.insert(&p.name, Arc::new(Retrying::new(adapter, policy)));
        }
        let mut router = Self::new();
        for (role, targets) in &settings.routes {
            let mut routes = Vec::with_capacity(targets.len());
            for t in targets {
                // `validate` checked every name; this only guards against drift.
                let provider = providers.get(t.provider.as_str()).ok_or_else(|| {
                    LlmConfigError::UnknownProvider {
                        role: role.clone(),
                        provider: t.provider.clone(),
                    }
                })?;
                routes.push(Route::new(provider.clone(), &t.model));
            }
            router = router.with_route(role, routes);
        }
        Ok(router)
    }

    /// The route `role` would take (its own, else `default`), if any.
    pub fn route(&self, role: &str) -> Option<&[Route]> {
        self.routes
            .get(role)
            .or_else(|| self.routes.get(DEFAULT_ROUTE))
            .map(Vec::as_slice)
            .filter(|r| !r.is_empty())
    }

    /// Sends `req` for `role`, its `model` replaced by each route entry's in
    /// turn, falling back while providers are rate limited or unreachable.
    pub async fn chat(&self, role: &str, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let Some(routes) = self.route(role) else {
            return Err(LlmError::NotConfigured {
                role: role.to_owned(),
                hint: format!(
                    "add `{role} = [\"provider:model\"]` (or a `{DEFAULT_ROUTE}` route) under [llm.routes]"
                ),
            });
        };
        let mut req = req.clone();
        let mut last_error = None;
        for (i, route) in routes.iter().enumerate() {
            req.model.clone_from(&route.model);
            let provider = route.provider.name();
            match route.provider.chat(&req).await {
                Ok(response) => {
                    self.record(provider, |u| {
                        u.calls += 1;
                        u.input_tokens += response.usage.input_tokens;
                        u.output_tokens += response.usage.output_tokens;
                    });
                    tracing::debug!(
                        role,
                        provider,
                        model = %route.model,
                        input_tokens = response.usage.input_tokens,
                        output_tokens = response.usage.output_tokens,
                        "llm call answered"
                    );
                    return Ok(response);
                }
                Err(error) => {
                    self.record(provider, |u| u.failures += 1);
                    if !falls_back(&error) {
                        return Err(error);
                    }
                    if let Some(next) = routes.get(i + 1) {
                        tracing::warn!(
                            role,
                            provider,
                            model = %route.model,
                            next = ?next,
                            error = %error,
                            "llm provider unavailable; falling back"
                        );
                    }
                    last_error = Some(error);
                }
            }
        }
        // `route` never returns an empty list, so the loop set an error.
        Err(last_error.unwrap_or_else(|| LlmError::NotConfigured {
            role: role.to_owned(),
            hint: "its route is empty".into(),
        }))
    }

    /// Running totals per provider name.
    pub fn usage(&self) -> BTreeMap<String, ProviderUsage> {
        self.usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// This router seen as a plain provider for one role, for code that takes
    /// an `Arc<dyn LlmProvider>` (the agent loop, the budget wrapper).
    pub fn for_role(self: &Arc<Self>, role: impl Into<String>) -> RoleProvider {
        let role = role.into();
        RoleProvider {
            name: format!("router/{role}"),
            router: self.clone(),
            role,
        }
    }

    fn record(&self, provider: &str, update: impl FnOnce(&mut ProviderUsage)) {
        let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        update(usage.entry(provider.to_owned()).or_default());
    }
}

/// Worth trying the next provider: this one is out of reach for now, or is not
/// usable at all (a key that cannot be sent).
fn falls_back(error: &LlmError) -> bool {
    error.is_retryable() || matches!(error, LlmError::NotConfigured { .. })
}

/// A [`Router`] bound to one role.
#[derive(Debug, Clone)]
pub struct RoleProvider {
    name: String,
    router: Arc<Router>,
    role: String,
}

impl RoleProvider {
    pub fn role(&self) -> &str {
        &self.role
    }
}

#[async_trait]
impl LlmProvider for RoleProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.router.chat(&self.role, req).await
    }
}

/// The router as the roles see it: each role's calls go to its own route.
pub struct RouterModels(pub Arc<Router>);

impl nightshift_core::llm::Models for RouterModels {
    fn for_role(&self, role: &str) -> Arc<dyn LlmProvider> {
        Arc::new(self.0.for_role(role))
    }
}
