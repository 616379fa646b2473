//! The dashboard in a real headless Chromium (Debian's `chromium`), driven
//! through WebDriver (`chromedriver`, started here on a free port). The store
//! is real (SQLite); what the page shows is compared with it, and what the
//! page's buttons do is checked in it.
//!
//! With `NIGHTSHIFT_SCREENSHOTS=<dir>` the main views are also saved there as
//! PNGs (docs/screenshots/ holds the committed ones).

use crate::helpers::{ready_ticket, serve};
use crate::setup::{Gov, REPO, in_review, registry, setup, triaged, use_registry};
use fantoccini::{Client, ClientBuilder, Locator};
use nightshift_core::approval::{ApprovalKind, ApprovalStatus};
use nightshift_core::job::{Job, JobKind, JobState};
use nightshift_core::ports::JobFilter;
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::{Priority, Ticket};
use nightshift_roles::Deps;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the page may take to show a change (it polls every 3 s).
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

// ---- the browser ------------------------------------------------------------

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// chromedriver in its own process group, killed with everything it started
/// (Chromium) when dropped, on success and on failure alike.
struct Chromedriver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
    chromium: PathBuf,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        // SAFETY: signals to the process group this test created.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        std::thread::sleep(Duration::from_millis(200));
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium's helpers that left the group: found by this test's own
        // profile directory on their command line.
        let profile = self._profile.path().to_string_lossy().into_owned();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&profile) {
                // SAFETY: a process of this test's browser.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

fn chromedriver() -> Chromedriver {
    let (Some(chromium), Some(driver)) = (on_path("chromium"), on_path("chromedriver")) else {
        panic!(
            "the dashboard test needs Chromium and its WebDriver: \
             apt-get install chromium chromium-driver (scripts/test.sh installs them)"
        );
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    use std::os::unix::process::CommandExt;
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromedriver starts");
    Chromedriver {
        child,
        port,
        _profile: tempfile::tempdir().unwrap(),
        chromium,
    }
}

/// A headless Chromium session; the driver goes when the returned guard does.
async fn browser() -> (Client, Chromedriver) {
    let driver = chromedriver();
    let url = format!("http://127.0.0.1:{}", driver.port);
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": driver.chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars",
                format!("--user-data-dir={}", driver._profile.path().display()),
                "--window-size=1400,1000",
            ],
        }),
    );
    let started = Instant::now();
    let mut driver = driver;
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let err = match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => break c,
            Err(e) => e,
        };
        if let Ok(Some(status)) = driver.child.try_wait() {
            panic!("chromedriver exited ({status}) before a session started: {err}");
        }
        if started.elapsed() > Duration::from_secs(30) {
            panic!("no WebDriver session from chromedriver on {url}: {err}");
        }
        // chromedriver is still starting.
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    (client, driver)
}

/// The page's text at `css` (`None` while there is no such element).
async fn text_of(c: &Client, css: &str) -> Option<String> {
    c.execute(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
        vec![json!(css)],
    )
    .await
    .ok()?
    .as_str()
    .map(str::to_string)
}

/// Every `css` element's text, in page order.
async fn texts_of(c: &Client, css: &str) -> Vec<String> {
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent);",
            vec![json!(css)],
        )
        .await
        .unwrap_or(Value::Null);
    serde_json::from_value(v).unwrap_or_default()
}

/// Polls `check` until it is `Some`, up to `PAGE_TIMEOUT`; the failure says
/// what was expected and what was last seen.
async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(v) => return v,
            Err(seen) if start.elapsed() > PAGE_TIMEOUT => {
                panic!("timed out waiting for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Waits until `css` shows text containing `want`.
async fn shows(c: &Client, css: &str, want: &str) -> String {
    until(&format!("`{css}` to show {want:?}"), || async {
        match text_of(c, css).await {
            Some(t) if t.contains(want) => Ok(t),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// A real click (WebDriver's element click) on `css`, retried while the
/// element is missing or being re-rendered.
async fn click(c: &Client, css: &str) {
    until(&format!("a clickable `{css}`"), || async {
        let e = c.find(Locator::Css(css)).await.map_err(|e| e.to_string())?;
        e.click().await.map_err(|e| e.to_string())
    })
    .await
}

async fn type_into(c: &Client, css: &str, text: &str) {
    until(&format!("an input `{css}`"), || async {
        let e = c.find(Locator::Css(css)).await.map_err(|e| e.to_string())?;
        e.clear().await.map_err(|e| e.to_string())?;
        e.send_keys(text).await.map_err(|e| e.to_string())
    })
    .await
}

async fn open_view(c: &Client, base: &str, hash: &str) {
    c.goto(&format!("{base}/#{hash}")).await.unwrap();
}

/// Saves the page as `name`.png in `$NIGHTSHIFT_SCREENSHOTS`, if set: the
/// window grown to the page's height (up to 2400 px) for the picture.
async fn screenshot(c: &Client, name: &str) {
    let Some(dir) = std::env::var_os("NIGHTSHIFT_SCREENSHOTS") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Let the last poll's rendering and the fonts settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The window's height less the viewport's is the browser's own frame.
    let h = c
        .execute(
            "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(1000)
        .clamp(1000, 2400) as u32;
    c.set_window_size(1400, h).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = c.screenshot().await.unwrap();
    c.set_window_size(1400, 1000).await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

// ---- the factory's state -----------------------------------------------------

/// Triaged, then planned by the rules (no model): awaiting spec approval.
async fn awaiting_spec(d: &Deps, title: &str) -> Ticket {
    let t = triaged(d, title).await;
    nightshift_roles::planner::plan(d, &t.id).await.unwrap();
    let t = d.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::AwaitingSpecApproval);
    t
}

/// The reviewer's job for `ticket_id`, run here (what `nightshift worker` does).
async fn review(d: &Deps, ticket_id: &str) {
    let jid = nightshift_roles::reviewer::announce(d, ticket_id)
        .await
        .unwrap()
        .expect("a review job");
    crate::helpers::work_job(d, &jid, |job, dir| async move {
        nightshift_roles::reviewer::run(d, &job, &dir)
            .await
            .unwrap()
    })
    .await;
}

/// A builder session in progress: a ticket in `building`, its job claimed,
/// `tools` recorded as its tool calls, and its stderr log.
async fn building(d: &Deps, title: &str, tools: &[&str], log: &str) -> (Ticket, Job) {
    let t = ready_ticket(d, title, Priority::Medium, REPO, Some(250_000)).await;
    let t = nightshift_roles::transition::apply(
        d,
        &t,
        TicketEvent::StartBuild,
        "test",
        Value::Null,
        |t| t.build_rounds += 1,
    )
    .await
    .unwrap();
    let jid = format!("{}-b1", t.id);
    let job = Job::new(
        jid.clone(),
        Some(t.id.clone()),
        JobKind::Build,
        t.priority,
        3,
        None,
        d.now(),
    );
    d.stores.jobs.create_job(&job).await.unwrap();
    let (job, _lease) = d
        .stores
        .jobs
        .claim_job(&jid, "worker-test", Duration::from_secs(600), d.now())
        .await
        .unwrap();
    for tool in tools {
        tool_call(d, &t, &job, tool).await;
    }
    let dir = log_dir(d, &job);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("stderr.log"), log).unwrap();
    (t, job)
}

fn log_dir(d: &Deps, job: &Job) -> PathBuf {
    d.settings.jobs_dir().join(&job.id).join("1")
}

async fn tool_call(d: &Deps, t: &Ticket, job: &Job, tool: &str) {
    let ev = nightshift_core::audit::NewAuditEvent::new("builder", "tool_call")
        .ticket(&t.id)
        .detail(json!({"job_id": job.id, "tool": tool, "ok": true, "output": "ok"}));
    d.stores.audit.append(ev, d.now()).await.unwrap();
}

/// Spends `tokens` of the ticket's budget (a reservation, committed).
async fn spend(d: &Deps, ticket_id: &str, tokens: u64) {
    let rid = format!("{ticket_id}-spend");
    d.stores
        .budget
        .reserve(ticket_id, &rid, tokens + 1000, d.now())
        .await
        .unwrap();
    d.stores.budget.commit(&rid, tokens).await.unwrap();
}

/// The pending approval of `kind` for the ticket.
async fn pending_approval(d: &Deps, ticket_id: &str, kind: ApprovalKind) -> String {
    d.stores
        .approvals
        .approvals_for_ticket(ticket_id)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.kind == kind && a.status == ApprovalStatus::Pending)
        .unwrap_or_else(|| panic!("a pending {kind:?} approval for {ticket_id}"))
        .id
}

/// Polls the store until the ticket is in `state`.
async fn store_shows(d: &Deps, ticket_id: &str, state: TicketState) -> Ticket {
    until(
        &format!("ticket {ticket_id} to be {state:?} in the store"),
        || async {
            let t = d.stores.tickets.get_ticket(ticket_id).await.unwrap();
            if t.state == state {
                Ok(t)
            } else {
                Err(format!("{:?}", t.state))
            }
        },
    )
    .await
}

/// The repository's test, with a case for negative numbers.
const NEGATIVE_TEST: &str =
    ". ./calc.sh\n[ \"$(add 2 3)\" = 5 ] || exit 1\n[ \"$(add -2 1)\" = -1 ] || exit 1\necho ok\n";

struct Factory {
    g: Gov,
    approve_me: Ticket,
    reject_me: Ticket,
    merge_me: Ticket,
    pr_number: u64,
    /// The ready queue, as the page must order it: priority, then age.
    ready: Vec<String>,
    build: (Ticket, Job),
}

async fn factory() -> Factory {
    let reg = registry().await;
    let g = setup(None, |s| use_registry(s, &reg));
    let d = g.deps.clone();
    // The ready queue: created high, low, medium; listed newest first by the
    // API, shown by priority then age by the page.
    let high = ready_ticket(&d, "fix the login timeout", Priority::High, REPO, None).await;
    let low = ready_ticket(&d, "tidy the README", Priority::Low, REPO, None).await;
    let medium = ready_ticket(&d, "cache the config", Priority::Medium, REPO, None).await;
    let (merge_me, pr) = in_review(
        &g,
        "add handles negatives",
        8,
        &[("test.sh", NEGATIVE_TEST)],
    )
    .await;
    review(&d, &merge_me.id).await;
    let merge_me = d.stores.tickets.get_ticket(&merge_me.id).await.unwrap();
    assert_eq!(merge_me.state, TicketState::AwaitingMergeApproval);
    let build = building(
        &d,
        "speed up the parser",
        &["read_file", "edit_file", "run_tests"],
        "session started\nread_file src/parse.rs\nrunning make test\n",
    )
    .await;
    spend(&d, &build.0.id, 43_210).await;
    spend(&d, &merge_me.id, 12_000).await;
    let approve_me = awaiting_spec(&d, "add subtracts").await;
    let reject_me = awaiting_spec(&d, "divide by zero panics").await;
    Factory {
        g,
        approve_me,
        reject_me,
        merge_me,
        pr_number: pr.number,
        ready: vec![high.id, medium.id, low.id],
        build,
    }
}

// ---- the tests -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_factory_and_its_buttons_decide_in_the_store() {
    let (c, _driver) = browser().await;
    let f = factory().await;
    let d = f.g.deps.clone();
    let base = serve(nightshift_api::router(d.clone())).await;

    // The page and its assets: no build step, a strict policy, no inline script.
    let http = reqwest::Client::new();
    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("src=\"dashboard/app.js\"") && !html.contains("<script>"));
    for (path, ty) in [
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/style.css", "text/css"),
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(ty),
            "{path}"
        );
    }

    // ---- overview: the queue by state, the ready queue by priority then age,
    // and the running job.
    open_view(&c, &base, "overview").await;
    let counts = d.stores.tickets.count_by_state().await.unwrap();
    assert!(
        counts.contains(&(TicketState::AwaitingSpecApproval, 2)),
        "{counts:?}"
    );
    for (state, n) in &counts {
        let css = format!("[data-state-count='{}'] .n", state.as_str());
        until(&format!("{css} to be {n}"), || async {
            match text_of(&c, &css).await {
                Some(t) if t == n.to_string() => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }
    let ready_rows = until("the ready queue in priority order", || async {
        let rows: Vec<String> = serde_json::from_value(
            c.execute(
                "return Array.from(document.querySelectorAll('#ready-queue tbody tr')).map(r => r.dataset.row);",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        if rows.len() == 3 { Ok(rows) } else { Err(format!("{rows:?}")) }
    })
    .await;
    assert_eq!(ready_rows, f.ready, "high, then medium, then low");
    let (bt, bjob) = &f.build;
    shows(&c, "#overview-jobs", &bjob.id).await;
    shows(&c, "#overview-jobs", "3 tool calls · last: run_tests").await;
    shows(&c, "#overview-approvals", "add subtracts").await;
    shows(&c, "#overview-approvals", "divide by zero panics").await;
    shows(&c, "#tiles", "55,210").await; // tokens committed in total
    screenshot(&c, "overview").await;

    // ---- jobs: live progress and the log's tail, refreshed.
    open_view(&c, &base, "jobs").await;
    let row = format!("#active-jobs tr[data-job='{}']", bjob.id);
    shows(&c, &row, "3 tool calls · last: run_tests").await;
    shows(&c, &row, "speed up the parser").await;
    click(&c, &format!("{row} button.show-log")).await;
    shows(&c, "#log-text", "running make test").await;
    // The worker goes on: a new tool call and new log lines appear by themselves.
    tool_call(&d, bt, bjob, "git_commit").await;
    let log = log_dir(&d, bjob).join("stderr.log");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("tests passed: 42\n");
    std::fs::write(&log, text).unwrap();
    shows(&c, &row, "4 tool calls · last: git_commit").await;
    shows(&c, "#log-text", "tests passed: 42").await;
    screenshot(&c, "jobs").await;

    // ---- approvals: the spec (approach, confidence) and the verdict (gates).
    open_view(&c, &base, "approvals").await;
    let approve_id = pending_approval(&d, &f.approve_me.id, ApprovalKind::Spec).await;
    let reject_id = pending_approval(&d, &f.reject_me.id, ApprovalKind::Spec).await;
    let merge_id = pending_approval(&d, &f.merge_me.id, ApprovalKind::Merge).await;
    let card = |id: &str| format!("[data-approval='{id}']");
    let spec = f.approve_me.spec.as_ref().unwrap();
    shows(&c, &card(&approve_id), "add subtracts").await;
    shows(
        &c,
        &format!("{} .approach", card(&approve_id)),
        &spec.approach,
    )
    .await;
    shows(
        &c,
        &format!("{} .conf-value", card(&approve_id)),
        &format!("{}/10", spec.confidence),
    )
    .await;
    let verdict = f.merge_me.review.as_ref().unwrap();
    for gate in &verdict.gates {
        shows(&c, &format!("{} .gates", card(&merge_id)), &gate.gate).await;
    }
    shows(&c, &card(&merge_id), &format!("PR #{}", f.pr_number)).await;
    type_into(&c, "#decider", "Dana Night").await;

    // Approve: the ticket moves to ready in the store, decided by that person.
    click(&c, &format!("{} button.approve", card(&approve_id))).await;
    store_shows(&d, &f.approve_me.id, TicketState::Ready).await;
    let a = d.stores.approvals.get_approval(&approve_id).await.unwrap();
    assert_eq!(a.status, ApprovalStatus::Approved);
    assert_eq!(a.decided_by.as_deref(), Some("api:Dana Night"));
    shows(
        &c,
        &format!("{} .msg", card(&approve_id)),
        "the ticket is now ready",
    )
    .await;

    // Reject: an empty reason is refused by the page and nothing is sent...
    click(&c, &format!("{} button.reject", card(&reject_id))).await;
    click(&c, &format!("{} button.send-reject", card(&reject_id))).await;
    shows(
        &c,
        &format!("{} .msg.error", card(&reject_id)),
        "A reason is required",
    )
    .await;
    let a = d.stores.approvals.get_approval(&reject_id).await.unwrap();
    assert_eq!(a.status, ApprovalStatus::Pending, "nothing was sent");
    // ...a reason is sent with the rejection, and the ticket goes back to triaged.
    let reason = "handle the zero divisor with an error message, not a panic";
    type_into(&c, &format!("{} textarea.reason", card(&reject_id)), reason).await;
    screenshot(&c, "approvals").await;
    click(&c, &format!("{} button.send-reject", card(&reject_id))).await;
    store_shows(&d, &f.reject_me.id, TicketState::Triaged).await;
    let a = d.stores.approvals.get_approval(&reject_id).await.unwrap();
    assert_eq!(a.status, ApprovalStatus::Rejected);
    assert_eq!(a.reason.as_deref(), Some(reason));
    // Both decided cards leave the list; the merge approval stays.
    until("the decided approvals to leave the page", || async {
        let ids = texts_of(&c, "#approvals-list [data-approval] h3").await;
        if ids.len() == 1 {
            Ok(())
        } else {
            Err(format!("{ids:?}"))
        }
    })
    .await;
    shows(&c, "#approvals-list", "add handles negatives").await;

    // ---- a ticket's audit trail, opened by clicking its id.
    open_view(&c, &base, "overview").await;
    click(
        &c,
        &format!(
            "#recent-tickets a.ticket-link[data-ticket='{}']",
            f.approve_me.id
        ),
    )
    .await;
    let events = d
        .stores
        .audit
        .events_for_ticket(&f.approve_me.id)
        .await
        .unwrap();
    shows(&c, ".ticket-title", "add subtracts").await;
    let rows = until("every audit event as a row", || async {
        let actions = texts_of(&c, "#audit tbody tr td:nth-child(4)").await;
        if actions.len() == events.len() {
            Ok(actions)
        } else {
            Err(format!("{actions:?}"))
        }
    })
    .await;
    let want: Vec<String> = events.iter().map(|e| e.action.clone()).collect();
    assert_eq!(rows, want);
    assert!(rows.iter().any(|a| a == "approve_spec"), "{rows:?}");
    shows(&c, "#ticket", "api:Dana Night").await;
    // A longer trail for the picture: the ticket that went through review.
    if std::env::var_os("NIGHTSHIFT_SCREENSHOTS").is_some() {
        let n = d
            .stores
            .audit
            .events_for_ticket(&f.merge_me.id)
            .await
            .unwrap()
            .len();
        open_view(&c, &base, &format!("ticket/{}", f.merge_me.id)).await;
        until("the reviewed ticket's trail", || async {
            let rows = texts_of(&c, "#audit tbody tr").await.len();
            if rows == n {
                Ok(())
            } else {
                Err(format!("{rows} rows of {n}"))
            }
        })
        .await;
        screenshot(&c, "ticket").await;
    }

    // ---- pull requests and the budget.
    open_view(&c, &base, "pulls").await;
    shows(
        &c,
        &format!("[data-pr='{REPO}#{}']", f.pr_number),
        "add handles negatives",
    )
    .await;
    screenshot(&c, "pulls").await;
    open_view(&c, &base, "budget").await;
    shows(&c, &format!("[data-budget='{}'] .spent", bt.id), "43,210").await;
    shows(
        &c,
        &format!("[data-budget='{}'] .spent", f.merge_me.id),
        "12,000",
    )
    .await;
    shows(&c, "#budget-tiles", "55,210").await;
    screenshot(&c, "budget").await;

    // ---- the nightly report: rendered from its Markdown when the API has
    // one, "No report yet" when it answers 404.
    let report = http.get(format!("{base}/report")).send().await.unwrap();
    open_view(&c, &base, "report").await;
    if report.status() == 404 {
        shows(&c, "#report", "No report yet").await;
    } else {
        assert_eq!(report.status(), 200);
        until("the report rendered as HTML", || async {
            let n = texts_of(
                &c,
                "#report h1, #report h2, #report h3, #report li, #report td",
            )
            .await;
            if n.is_empty() {
                Err("nothing rendered".into())
            } else {
                Ok(())
            }
        })
        .await;
        screenshot(&c, "report").await;
    }
    // The renderer escapes before it adds tags.
    let md = "# Night <script>alert(1)</script>\n\n- **merged** 2\n- `code` <b>x</b>\n\n| repo | merged |\n|---|---:|\n| acme/calc | 2 |\n";
    let html = c
        .execute(
            "return window.nightshiftDashboard.markdown(arguments[0]);",
            vec![json!(md)],
        )
        .await
        .unwrap();
    let html = html.as_str().unwrap();
    assert!(
        html.contains("<h1>Night &lt;script&gt;alert(1)&lt;/script&gt;</h1>"),
        "{html}"
    );
    assert!(
        html.contains("<li><strong>merged</strong> 2</li>"),
        "{html}"
    );
    assert!(
        html.contains("<code>code</code> &lt;b&gt;x&lt;/b&gt;"),
        "{html}"
    );
    assert!(
        html.contains("<th>repo</th>") && html.contains("<td>acme/calc</td>"),
        "{html}"
    );
    assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");

    // Nothing the page did left a job running that should not be.
    let running = d
        .stores
        .jobs
        .list_jobs(&JobFilter {
            states: vec![JobState::Running],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(running.len(), 1);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_token_the_dashboard_asks_for_it_and_then_works() {
    let (c, _driver) = browser().await;
    let g = setup(None, |_| {});
    let d = g.deps.clone();
    let t = awaiting_spec(&d, "add subtracts").await;
    let approval = pending_approval(&d, &t.id, ApprovalKind::Spec).await;
    let auth = nightshift_api::ApiAuth {
        token: Some(secrecy::SecretString::from("night-owl-token")),
        webhook_secret: None,
    };
    let base = serve(nightshift_api::router_with(d.clone(), auth)).await;
    // The page itself is open; its data is not.
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        http.get(format!("{base}/approvals"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    open_view(&c, &base, "approvals").await;
    until("the token field", || async {
        let shown = c
            .execute("return !document.querySelector('#auth').hidden;", vec![])
            .await
            .map_err(|e| e.to_string())?;
        if shown == json!(true) {
            Ok(())
        } else {
            Err(shown.to_string())
        }
    })
    .await;
    assert_eq!(
        texts_of(&c, "#approvals-list [data-approval]").await.len(),
        0,
        "nothing is shown without the token"
    );
    screenshot(&c, "token").await;

    // A wrong token is refused and said so.
    type_into(&c, "#token", "wrong").await;
    click(&c, "#token-save").await;
    shows(&c, "#auth-msg", "refused").await;

    // The right one: the approvals appear, and deciding works.
    type_into(&c, "#token", "night-owl-token").await;
    click(&c, "#token-save").await;
    shows(
        &c,
        &format!("[data-approval='{approval}']"),
        "add subtracts",
    )
    .await;
    let hidden = c
        .execute("return document.querySelector('#auth').hidden;", vec![])
        .await
        .unwrap();
    assert_eq!(hidden, json!(true));
    let kept = c
        .execute("return localStorage.getItem('nightshift.token');", vec![])
        .await
        .unwrap();
    assert_eq!(kept, json!("night-owl-token"));
    click(&c, &format!("[data-approval='{approval}'] button.approve")).await;
    store_shows(&d, &t.id, TicketState::Ready).await;

    // The token is remembered across a reload.
    c.refresh().await.unwrap();
    shows(&c, "#approvals-list", "Nothing waits for a person").await;
    c.close().await.unwrap();
}

/// The routes the page reads, without the page: jobs with their progress, a
/// job's log (never a path of the caller's choosing), and the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_log_and_budget_routes_answer_from_the_store() {
    let g = setup(None, |_| {});
    let d = g.deps.clone();
    let (t, job) = building(
        &d,
        "speed up the parser",
        &["read_file", "edit_file", "run_tests"],
        "one\ntwo\nthree\n",
    )
    .await;
    spend(&d, &t.id, 1234).await;
    let queued = ready_ticket(&d, "queued", Priority::Low, REPO, None).await;
    let qjob = Job::new(
        format!("{}-b1", queued.id),
        Some(queued.id.clone()),
        JobKind::Build,
        Priority::Low,
        3,
        None,
        d.now(),
    );
    d.stores.jobs.create_job(&qjob).await.unwrap();
    let base = serve(nightshift_api::router(d.clone())).await;
    let c = reqwest::Client::new();
    let get = |path: String| {
        let c = c.clone();
        let url = format!("{base}{path}");
        async move { crate::helpers::get_json(&c, &url).await }
    };

    let (status, running) = get("/jobs?state=running".into()).await;
    assert_eq!(status, 200);
    let jobs = running["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{running}");
    assert_eq!(jobs[0]["id"], job.id);
    assert_eq!(jobs[0]["state"], "running");
    assert_eq!(jobs[0]["ticket_title"], "speed up the parser");
    assert_eq!(jobs[0]["progress"]["tool_calls"], 3);
    assert_eq!(jobs[0]["progress"]["last_tool"], "run_tests");
    let (_, all) = get("/jobs".into()).await;
    assert_eq!(all["jobs"].as_array().unwrap().len(), 2);
    let (_, queued_only) = get("/jobs?state=queued".into()).await;
    assert_eq!(queued_only["jobs"][0]["id"], qjob.id);
    assert_eq!(queued_only["jobs"][0]["progress"]["tool_calls"], 0);
    let (status, err) = get("/jobs?state=sleeping".into()).await;
    assert_eq!((status, err["field"].as_str()), (400, Some("state")));

    let (status, log) = get(format!("/jobs/{}/log?tail=2", job.id)).await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["attempt"], 1);
    assert_eq!(log["stderr"]["text"], "two\nthree");
    assert_eq!(log["stderr"]["truncated"], true);
    assert_eq!(log["stdout"]["found"], false);
    let (_, log) = get(format!("/jobs/{}/log", job.id)).await;
    assert_eq!(
        (
            log["stderr"]["text"].as_str(),
            log["stderr"]["truncated"].as_bool()
        ),
        (Some("one\ntwo\nthree"), Some(false))
    );
    // No job, no file: the path comes from the stored job, never the request.
    let secret = d.settings.data_dir.join("secret.txt");
    std::fs::write(&secret, "do not show").unwrap();
    for bad in ["..%2Fsecret.txt", "..%2F..%2Fsecret.txt", "nope"] {
        let (status, body) = get(format!("/jobs/{bad}/log")).await;
        assert!(
            status == 404 && body["error"].as_str().unwrap().contains("not found"),
            "{bad}: {status} {body}"
        );
    }
    // A log the job replaced with a link is not followed.
    let err_log = log_dir(&d, &job).join("stderr.log");
    std::fs::remove_file(&err_log).unwrap();
    std::os::unix::fs::symlink(&secret, &err_log).unwrap();
    let (_, log) = get(format!("/jobs/{}/log", job.id)).await;
    assert_eq!(log["stderr"]["found"], false);
    assert!(!log.to_string().contains("do not show"));

    let (status, budget) = get("/budget".into()).await;
    assert_eq!(status, 200);
    assert_eq!(budget["total_committed"], 1234);
    let row = budget["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ticket_id"] == t.id.as_str())
        .unwrap();
    assert_eq!(
        (&row["committed"], &row["limit"], &row["state"]),
        (&json!(1234), &json!(250_000), &json!("building"))
    );
}

#[test]
fn the_test_command_installs_the_browser() {
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test.sh"),
    )
    .unwrap();
    for pkg in ["chromium", "chromium-driver"] {
        assert!(script.contains(&format!("missing+=({pkg})")), "{pkg}");
    }
}
