//! A `tracing` subscriber that writes every span field and event into a string,
//! so a test can check what the adapters log (and that a key is not in it).

use std::fmt::{Debug, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<String>>);

impl Captured {
    pub fn text(&self) -> String {
        self.0.lock().expect("lock").clone()
    }
}

/// Captures everything logged on this thread (the test's current-thread
/// runtime) until the guard drops.
pub fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = Capture {
        out: captured.clone(),
        next_id: AtomicU64::new(1),
    };
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}

struct Capture {
    out: Captured,
    next_id: AtomicU64,
}

struct Writer<'a>(&'a Captured);

impl Visit for Writer<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let mut out = (self.0).0.lock().expect("lock");
        let _ = write!(out, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        span.record(&mut Writer(&self.out));
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Writer(&self.out));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        event.record(&mut Writer(&self.out));
        self.out.0.lock().expect("lock").push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
