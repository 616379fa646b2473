use crate::{StoreFixture, secs, t0};
use nightshift_core::audit::NewAuditEvent;
use nightshift_core::ports::TicketFilter;
use nightshift_core::state::TicketState;
use nightshift_core::ticket::{NewTicket, Priority, Source, Ticket, TicketContext, TicketType};

pub fn ticket(id: &str, priority: Priority, title: &str) -> Ticket {
    NewTicket {
        id: Some(id.into()),
        kind: TicketType::Bug,
        priority: Some(priority),
        title: Some(title.into()),
        description: None,
        context: TicketContext {
            repo: "acme/api".into(),
            filepaths: vec![],
            error_logs: vec![],
        },
        acceptance_criteria: vec!["it works".into()],
        source: None,
        source_ref: None,
        labels: vec![],
        budget: None,
    }
    .into_ticket(id.into(), Source::Api, 1000, t0())
}

/// The ticket moved to `state`, one version on.
pub fn moved(t: &Ticket, state: TicketState) -> Ticket {
    let mut n = t.clone();
    n.state = state;
    n.version += 1;
    n.updated_at = t.updated_at + secs(1);
    n
}

fn ev(action: &str) -> NewAuditEvent {
    NewAuditEvent::new("contract", action)
}

pub async fn tickets_create_is_idempotent_and_audited(f: StoreFixture) {
    let s = &f.stores;
    let t = ticket("t1", Priority::High, "first");
    let (stored, created) = s.tickets.create_ticket(&t, ev("created")).await.unwrap();
    assert!(created);
    assert_eq!(stored, t);
    assert_eq!(s.tickets.get_ticket("t1").await.unwrap(), t);
    // The same id again: the stored ticket comes back, nothing is overwritten.
    let other = ticket("t1", Priority::Low, "second");
    let (again, created) = s
        .tickets
        .create_ticket(&other, ev("created"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.title, "first");
    let events = s.audit.events_for_ticket("t1").await.unwrap();
    assert_eq!(events.len(), 1, "one create, one event");
    assert_eq!(events[0].to_state, Some(TicketState::New));
    assert!(
        s.tickets
            .get_ticket("nope")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

pub async fn tickets_update_is_conditional_on_version(f: StoreFixture) {
    let s = &f.stores;
    let t = ticket("t1", Priority::Medium, "x");
    s.tickets.create_ticket(&t, ev("created")).await.unwrap();
    let t2 = moved(&t, TicketState::Triaged);
    let (stored, event) = s.tickets.update_ticket(&t2, 1, ev("triage")).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(event.from_state, Some(TicketState::New));
    assert_eq!(event.to_state, Some(TicketState::Triaged));
    // A writer still at version 1 loses and changes nothing.
    let stale = moved(&t, TicketState::Closed);
    let err = s
        .tickets
        .update_ticket(&stale, 1, ev("close"))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let cur = s.tickets.get_ticket("t1").await.unwrap();
    assert_eq!((cur.state, cur.version), (TicketState::Triaged, 2));
    assert_eq!(s.audit.events_for_ticket("t1").await.unwrap().len(), 2);
    // A version that does not follow the expected one is refused outright.
    let mut skip = moved(&cur, TicketState::Planned);
    skip.version += 5;
    assert!(
        s.tickets
            .update_ticket(&skip, 2, ev("plan"))
            .await
            .unwrap_err()
            .is_conflict()
    );
    let missing = moved(&ticket("ghost", Priority::Low, "g"), TicketState::Triaged);
    assert!(
        s.tickets
            .update_ticket(&missing, 1, ev("triage"))
            .await
            .unwrap_err()
            .is_not_found()
    );
}

pub async fn tickets_concurrent_updates_have_one_winner(f: StoreFixture) {
    let s = &f.stores;
    let t = ticket("t1", Priority::Medium, "x");
    s.tickets.create_ticket(&t, ev("created")).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = s.tickets.clone();
            let mut n = moved(&t, TicketState::Triaged);
            n.title = format!("writer {i}");
            tokio::spawn(async move {
                store
                    .update_ticket(&n, 1, NewAuditEvent::new("w", "triage"))
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for r in futures::future::join_all(tasks).await {
        match r.unwrap() {
            Ok(_) => wins += 1,
            Err(e) => assert!(e.is_conflict(), "{e}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(s.audit.events_for_ticket("t1").await.unwrap().len(), 2);
}

pub async fn tickets_ready_queue_is_by_priority_then_age(f: StoreFixture) {
    let s = &f.stores;
    let specs = [
        ("a", Priority::Low, 0, true),
        ("b", Priority::High, 1, true),
        ("c", Priority::Medium, 2, true),
        ("d", Priority::High, 3, true),
        ("e", Priority::High, 4, false),
    ];
    for (id, p, age, ready) in specs {
        let mut t = ticket(id, p, id);
        t.created_at = t0() + secs(age);
        t.updated_at = t.created_at;
        s.tickets.create_ticket(&t, ev("created")).await.unwrap();
        if ready {
            s.tickets
                .update_ticket(&moved(&t, TicketState::Ready), 1, ev("ready"))
                .await
                .unwrap();
        }
    }
    let ids: Vec<String> = s
        .tickets
        .ready_tickets(10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["b", "d", "c", "a"]);
    assert_eq!(s.tickets.ready_tickets(2).await.unwrap().len(), 2);
}

pub async fn tickets_fingerprint_lookup_skips_terminal(f: StoreFixture) {
    let s = &f.stores;
    let a = ticket("a", Priority::Low, "same");
    let mut b = ticket("b", Priority::Low, "same");
    b.created_at = t0() + secs(5);
    let c = ticket("c", Priority::Low, "different");
    assert_eq!(a.fingerprint, b.fingerprint);
    for t in [&a, &b, &c] {
        s.tickets.create_ticket(t, ev("created")).await.unwrap();
    }
    let ids: Vec<String> = s
        .tickets
        .tickets_by_fingerprint(&a.fingerprint)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["a", "b"]);
    s.tickets
        .update_ticket(&moved(&a, TicketState::Closed), 1, ev("close"))
        .await
        .unwrap();
    let ids: Vec<String> = s
        .tickets
        .tickets_by_fingerprint(&a.fingerprint)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["b"]);
}

pub async fn tickets_list_filters_and_counts(f: StoreFixture) {
    let s = &f.stores;
    for i in 0..5 {
        let mut t = ticket(&format!("t{i}"), Priority::Low, &format!("n{i}"));
        t.created_at = t0() + secs(i);
        if i == 4 {
            t.context.repo = "acme/web".into();
        }
        s.tickets.create_ticket(&t, ev("created")).await.unwrap();
        if i % 2 == 0 {
            s.tickets
                .update_ticket(&moved(&t, TicketState::Triaged), 1, ev("triage"))
                .await
                .unwrap();
        }
    }
    let all = s
        .tickets
        .list_tickets(&TicketFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["t4", "t3", "t2", "t1", "t0"],
        "newest first"
    );
    let triaged = s
        .tickets
        .list_tickets(&TicketFilter {
            state: Some(TicketState::Triaged),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(triaged.len(), 3);
    let web = s
        .tickets
        .list_tickets(&TicketFilter {
            repo: Some("acme/web".into()),
            limit: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(web.len(), 1);
    let counts = s.tickets.count_by_state().await.unwrap();
    assert_eq!(
        counts,
        vec![(TicketState::New, 2), (TicketState::Triaged, 3)]
    );
}
