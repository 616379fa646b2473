//! The dashboard in a real headless Chromium (Debian's `chromium`), driven
//! through WebDriver (`chromedriver`, started here on a free port). The store
//! is real (SQLite); what the page shows is compared with it, and what the
//! page's buttons do is checked in it.
//!
//! With `NIGHTSHIFT_SCREENSHOTS=<dir>` the main views are also saved there as
//! PNGs (docs/screenshots/ holds the committed ones).

mod browser;
mod factory;

use crate::helpers::{ready_ticket, serve};
use crate::setup::{REPO, setup};
use nightshift_core::approval::{ApprovalKind, ApprovalStatus};
use nightshift_core::job::{Job, JobKind, JobState};
use nightshift_core::ports::JobFilter;
use nightshift_core::state::TicketState;
use nightshift_core::ticket::Priority;
use serde_json::json;
use std::path::Path;

use browser::*;
use factory::*;

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
