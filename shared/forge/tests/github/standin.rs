//! The GitHub REST stand-in: in-memory repos, branches, pull requests,
//! comments, collaborators and check runs, checking the token on every request.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use nightshift_forge::{GitHubForge, GitHubSettings};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

pub const REPO: &str = "acme/app";
pub const FEATURE: &str = "nightshift/tkt_1-fix-the-thing";
pub const OTHER: &str = "nightshift/tkt_2-another-thing";
pub const TOKEN: &str = "ghp_standInTokenThatMustNeverLeak0123456789";
pub const BOT: &str = "nightshift-bot";

#[derive(Default)]
pub struct Pull {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub state: &'static str,
    pub merged_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub struct Comment {
    pub id: u64,
    pub number: u64,
    pub user: String,
    pub body: String,
    pub created_at: String,
    /// Review comments only.
    pub path: Option<String>,
    pub line: Option<u32>,
}

#[derive(Default)]
pub struct Repo {
    pub default_branch: String,
    pub branches: Vec<String>,
    pub pulls: Vec<Pull>,
    pub issue_comments: Vec<Comment>,
    pub review_comments: Vec<Comment>,
    /// login -> admin | maintain | write | triage | read
    pub collaborators: HashMap<String, String>,
    /// ref -> check runs
    pub check_runs: HashMap<String, Vec<Value>>,
}

#[derive(Default)]
pub struct World {
    pub repos: BTreeMap<String, Repo>,
    pub next_number: u64,
    pub next_id: u64,
    /// Permission lookups served, per login.
    pub permission_lookups: HashMap<String, u32>,
}

pub type Shared = Arc<Mutex<World>>;

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn gh_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "message": message, "documentation_url": "https://docs.github.com/rest" })),
    )
        .into_response()
}

pub fn not_found() -> Response {
    gh_error(StatusCode::NOT_FOUND, "Not Found")
}

pub fn validation(message: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({
            "message": "Validation Failed",
            "errors": [{ "resource": "PullRequest", "code": "custom", "message": message }],
            "documentation_url": "https://docs.github.com/rest",
        })),
    )
        .into_response()
}

pub fn pull_json(full: &str, p: &Pull) -> Value {
    json!({
        "number": p.number,
        "title": p.title,
        "body": p.body,
        "state": p.state,
        "merged_at": p.merged_at,
        "html_url": format!("https://github.com/{full}/pull/{}", p.number),
        "head": { "ref": p.head, "label": format!("{}:{}", full.split('/').next().unwrap(), p.head) },
        "base": { "ref": p.base },
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    })
}

pub fn comment_json(c: &Comment, review: bool) -> Value {
    let mut v = json!({
        "id": c.id,
        "user": { "login": c.user },
        "body": c.body,
        "created_at": c.created_at,
    });
    if review {
        v["path"] = json!(c.path);
        v["line"] = json!(c.line);
    }
    v
}

pub fn page<T>(items: Vec<T>, q: &HashMap<String, String>) -> Vec<T> {
    let per_page: usize = q.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(30);
    let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    items
        .into_iter()
        .skip(per_page * page.saturating_sub(1))
        .take(per_page)
        .collect()
}

pub async fn auth(headers: HeaderMap, request: Request, next: Next) -> Response {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ok = given
        .strip_prefix("Bearer ")
        .or_else(|| given.strip_prefix("token "))
        == Some(TOKEN);
    if !ok {
        return gh_error(StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    next.run(request).await
}

pub async fn get_repo(State(w): State<Shared>, Path((o, r)): Path<(String, String)>) -> Response {
    let full = format!("{o}/{r}");
    let w = w.lock().unwrap();
    let Some(repo) = w.repos.get(&full) else {
        return not_found();
    };
    Json(json!({
        "full_name": full,
        "default_branch": repo.default_branch,
        "clone_url": format!("https://github.com/{full}.git"),
        "private": true,
    }))
    .into_response()
}

pub async fn list_pulls(
    State(w): State<Shared>,
    Path((o, r)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let full = format!("{o}/{r}");
    let w = w.lock().unwrap();
    let Some(repo) = w.repos.get(&full) else {
        return not_found();
    };
    let state = q.get("state").map(String::as_str).unwrap_or("open");
    let head = q.get("head").cloned();
    // GitHub lists newest first.
    let items: Vec<Value> = repo
        .pulls
        .iter()
        .rev()
        .filter(|p| state == "all" || p.state == state)
        .filter(|p| match &head {
            Some(h) => *h == format!("{o}:{}", p.head),
            None => true,
        })
        .map(|p| pull_json(&full, p))
        .collect();
    Json(page(items, &q)).into_response()
}

pub async fn create_pull(
    State(w): State<Shared>,
    Path((o, r)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let full = format!("{o}/{r}");
    let mut w = w.lock().unwrap();
    let number = w.next_number + 1;
    let Some(repo) = w.repos.get_mut(&full) else {
        return not_found();
    };
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (title, head, base) = (field("title"), field("head"), field("base"));
    if title.is_empty() {
        return validation("title is missing");
    }
    if !repo.branches.contains(&head) {
        return validation(&format!("head {head} does not exist"));
    }
    if !repo.branches.contains(&base) {
        return validation(&format!("base {base} does not exist"));
    }
    if head == base {
        return validation(&format!("No commits between {base} and {head}"));
    }
    if repo
        .pulls
        .iter()
        .any(|p| p.state == "open" && p.head == head && p.base == base)
    {
        return validation(&format!("A pull request already exists for {o}:{head}."));
    }
    let t = now();
    let pull = Pull {
        number,
        title,
        body: field("body"),
        head,
        base,
        state: "open",
        merged_at: None,
        created_at: t.clone(),
        updated_at: t,
    };
    let out = pull_json(&full, &pull);
    repo.pulls.push(pull);
    w.next_number = number;
    (StatusCode::CREATED, Json(out)).into_response()
}

pub async fn get_pull(
    State(w): State<Shared>,
    Path((o, r, n)): Path<(String, String, u64)>,
) -> Response {
    let full = format!("{o}/{r}");
    let w = w.lock().unwrap();
    match w
        .repos
        .get(&full)
        .and_then(|repo| repo.pulls.iter().find(|p| p.number == n))
    {
        Some(p) => Json(pull_json(&full, p)).into_response(),
        None => not_found(),
    }
}

/// Merges an open pull request (GitHub answers 405 for one not open).
pub async fn merge_pull(
    State(w): State<Shared>,
    Path((o, r, n)): Path<(String, String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let full = format!("{o}/{r}");
    let mut w = w.lock().unwrap();
    let Some(repo) = w.repos.get_mut(&full) else {
        return not_found();
    };
    let Some(p) = repo.pulls.iter_mut().find(|p| p.number == n) else {
        return not_found();
    };
    if p.state != "open" {
        return gh_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Pull Request is not mergeable",
        );
    }
    let title = body["commit_title"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    p.state = "closed";
    p.merged_at = Some(now());
    p.updated_at = now();
    Json(json!({ "sha": "5e1ec7ed", "merged": true, "message": title })).into_response()
}

pub fn has_pull(w: &World, full: &str, n: u64) -> bool {
    w.repos
        .get(full)
        .is_some_and(|repo| repo.pulls.iter().any(|p| p.number == n))
}

pub async fn list_issue_comments(
    State(w): State<Shared>,
    Path((o, r, n)): Path<(String, String, u64)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let full = format!("{o}/{r}");
    let w = w.lock().unwrap();
    if !has_pull(&w, &full, n) {
        return not_found();
    }
    let items: Vec<Value> = w.repos[&full]
        .issue_comments
        .iter()
        .filter(|c| c.number == n)
        .map(|c| comment_json(c, false))
        .collect();
    Json(page(items, &q)).into_response()
}

pub async fn list_review_comments(
    State(w): State<Shared>,
    Path((o, r, n)): Path<(String, String, u64)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let full = format!("{o}/{r}");
    let w = w.lock().unwrap();
    if !has_pull(&w, &full, n) {
        return not_found();
    }
    let items: Vec<Value> = w.repos[&full]
        .review_comments
        .iter()
        .filter(|c| c.number == n)
        .map(|c| comment_json(c, true))
        .collect();
    Json(page(items, &q)).into_response()
}

pub async fn create_issue_comment(
    State(w): State<Shared>,
    Path((o, r, n)): Path<(String, String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let full = format!("{o}/{r}");
    let mut w = w.lock().unwrap();
    if !has_pull(&w, &full, n) {
        return not_found();
    }
    let Some(text) = body.get("body").and_then(Value::as_str) else {
        return validation("body is missing");
    };
    w.next_id += 1;
    let comment = Comment {
        id: w.next_id,
        number: n,
        user: BOT.into(),
        body: text.into(),
        created_at: now(),
        path: None,
        line: None,
    };
    let out = comment_json(&comment, false);
    w.repos.get_mut(&full).unwrap().issue_comments.push(comment);
    (StatusCode::CREATED, Json(out)).into_response()
}

pub async fn permission(
    State(w): State<Shared>,
    Path((o, r, user)): Path<(String, String, String)>,
) -> Response {
    let full = format!("{o}/{r}");
    let mut w = w.lock().unwrap();
    *w.permission_lookups.entry(user.clone()).or_default() += 1;
    let Some(repo) = w.repos.get(&full) else {
        return not_found();
    };
    match repo.collaborators.get(&user) {
        // GitHub reports maintain as write and triage as read in `permission`.
        Some(role) => {
            let permission = match role.as_str() {
                "maintain" => "write",
                "triage" => "read",
                other => other,
            };
            Json(json!({
                "permission": permission,
                "role_name": role,
                "user": { "login": user },
            }))
            .into_response()
        }
        None => gh_error(StatusCode::NOT_FOUND, &format!("{user} is not a user")),
    }
}

pub async fn check_runs(
    State(w): State<Shared>,
    Path((o, r, git_ref)): Path<(String, String, String)>,
) -> Response {
    let full = format!("{o}/{r}");
    let w = w.lock().unwrap();
    let Some(repo) = w.repos.get(&full) else {
        return not_found();
    };
    let runs = repo.check_runs.get(&git_ref).cloned().unwrap_or_default();
    Json(json!({ "total_count": runs.len(), "check_runs": runs })).into_response()
}

pub async fn delete_ref(
    State(w): State<Shared>,
    Path((o, r, branch)): Path<(String, String, String)>,
) -> Response {
    let full = format!("{o}/{r}");
    let mut w = w.lock().unwrap();
    let Some(repo) = w.repos.get_mut(&full) else {
        return not_found();
    };
    let Some(at) = repo.branches.iter().position(|b| *b == branch) else {
        return gh_error(StatusCode::UNPROCESSABLE_ENTITY, "Reference does not exist");
    };
    repo.branches.remove(at);
    // GitHub closes the open pull requests of a deleted head branch.
    for p in repo
        .pulls
        .iter_mut()
        .filter(|p| p.head == branch && p.state == "open")
    {
        p.state = "closed";
        p.updated_at = now();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The stand-in's router, with every route behind the token check.
pub fn router(world: Shared) -> Router {
    Router::new()
        .route("/repos/{o}/{r}", get(get_repo))
        .route("/repos/{o}/{r}/pulls", get(list_pulls).post(create_pull))
        .route("/repos/{o}/{r}/pulls/{n}", get(get_pull))
        .route("/repos/{o}/{r}/pulls/{n}/merge", put(merge_pull))
        .route(
            "/repos/{o}/{r}/pulls/{n}/comments",
            get(list_review_comments),
        )
        .route(
            "/repos/{o}/{r}/issues/{n}/comments",
            get(list_issue_comments).post(create_issue_comment),
        )
        .route(
            "/repos/{o}/{r}/collaborators/{user}/permission",
            get(permission),
        )
        .route(
            "/repos/{o}/{r}/commits/{git_ref}/check-runs",
            get(check_runs),
        )
        .route(
            "/repos/{o}/{r}/git/refs/heads/{*branch}",
            delete(delete_ref),
        )
        .layer(middleware::from_fn(auth))
        .with_state(world)
}

/// A running stand-in holding `acme/app` (default `main`, protected) with
/// `FEATURE` and `OTHER` pushed, and `nightshift-bot` (the token's user)
/// and `maintainer` as writers.
pub struct StandIn {
    pub world: Shared,
    pub url: String,
    pub server: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn stand_in() -> StandIn {
    let mut world = World::default();
    let mut repo = Repo {
        default_branch: "main".into(),
        branches: vec!["main".into(), FEATURE.into(), OTHER.into()],
        ..Repo::default()
    };
    repo.collaborators.insert(BOT.into(), "write".into());
    repo.collaborators.insert("owner".into(), "admin".into());
    world.repos.insert(REPO.into(), repo);
    let world = Arc::new(Mutex::new(world));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = router(world.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    StandIn { world, url, server }
}

pub fn forge_for(url: &str, token: &str) -> GitHubForge {
    GitHubForge::new(
        GitHubSettings {
            api_url: url.into(),
            token_secret: "github-token".into(),
            protected_branches: vec!["main".into(), "release".into()],
            repos: vec![],
        },
        SecretString::from(token.to_string()),
    )
    .unwrap()
}

/// Records a comment by `author` straight into the stand-in's state.
pub fn add_comment(
    world: &Shared,
    number: u64,
    author: &str,
    role: Option<&str>,
    body: &str,
    review: Option<(&str, u32)>,
    created_at: Option<&str>,
) {
    let mut w = world.lock().unwrap();
    w.next_id += 1;
    let id = w.next_id;
    let repo = w.repos.get_mut(REPO).unwrap();
    match role {
        Some(role) => {
            repo.collaborators.insert(author.into(), role.into());
        }
        None => {
            repo.collaborators.remove(author);
        }
    }
    let comment = Comment {
        id,
        number,
        user: author.into(),
        body: body.into(),
        created_at: created_at.map(str::to_string).unwrap_or_else(now),
        path: review.map(|(p, _)| p.to_string()),
        line: review.map(|(_, l)| l),
    };
    if review.is_some() {
        repo.review_comments.push(comment);
    } else {
        repo.issue_comments.push(comment);
    }
}
