-- Nightshift's embedded schema. Indexed columns are copies of fields of the JSON
-- `body`, written together by one statement, so they never disagree.

CREATE TABLE IF NOT EXISTS tickets (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    repo        TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    body        TEXT NOT NULL
);
-- The ready queue: sparse, ordered as the dispatcher takes it.
CREATE INDEX IF NOT EXISTS tickets_ready ON tickets(priority DESC, created_ms, id) WHERE state = 'ready';
CREATE INDEX IF NOT EXISTS tickets_fingerprint ON tickets(fingerprint, created_ms);
CREATE INDEX IF NOT EXISTS tickets_state ON tickets(state, created_ms);
CREATE INDEX IF NOT EXISTS tickets_created ON tickets(created_ms);

CREATE TABLE IF NOT EXISTS jobs (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    ticket_id      TEXT,
    state          TEXT NOT NULL,
    priority       INTEGER NOT NULL,
    lease_until_ms INTEGER,
    deadline_ms    INTEGER,
    body           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_queued ON jobs(priority DESC, seq) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS jobs_running ON jobs(lease_until_ms) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS jobs_deadline ON jobs(deadline_ms) WHERE state IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_ticket ON jobs(ticket_id, seq);

CREATE TABLE IF NOT EXISTS approvals (
    id           TEXT PRIMARY KEY,
    ticket_id    TEXT NOT NULL,
    status       TEXT NOT NULL,
    requested_ms INTEGER NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_pending ON approvals(requested_ms) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS approvals_ticket ON approvals(ticket_id, requested_ms);

CREATE TABLE IF NOT EXISTS locks (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    acquired_ms INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS budget_accounts (
    ticket_id TEXT PRIMARY KEY,
    lim       INTEGER NOT NULL,
    reserved  INTEGER NOT NULL DEFAULT 0,
    committed INTEGER NOT NULL DEFAULT 0,
    CHECK (reserved >= 0 AND committed >= 0)
);
CREATE TABLE IF NOT EXISTS budget_reservations (
    id         TEXT PRIMARY KEY,
    ticket_id  TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    state      TEXT NOT NULL,
    actual     INTEGER,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS budget_reservations_ticket ON budget_reservations(ticket_id, created_ms);

CREATE TABLE IF NOT EXISTS audit (
    seq        INTEGER PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    ticket_id  TEXT,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ticket ON audit(ticket_id, seq);
-- Append-only, enforced by the database itself.
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- Retention may delete a prefix of the log, and only up to the event a prune
-- recorded first in audit_prunes (in the same transaction).
DROP TRIGGER IF EXISTS audit_no_delete;
CREATE TABLE IF NOT EXISTS audit_prunes (
    through_seq INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_delete_only_pruned BEFORE DELETE ON audit
    WHEN OLD.seq > (SELECT COALESCE(MAX(through_seq), 0) FROM audit_prunes)
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE IF NOT EXISTS messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    queue         TEXT NOT NULL,
    body          TEXT NOT NULL,
    visible_ms    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT UNIQUE,
    last_error    TEXT,
    sent_ms       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages(queue, visible_ms, seq);

CREATE TABLE IF NOT EXISTS dead_letters (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    queue         TEXT NOT NULL,
    body          TEXT NOT NULL,
    reason        TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    dead_ms       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_queue ON dead_letters(queue, seq);

-- The local forge's pull requests (the git data itself lives in bare repos on
-- disk). Numbers count from 1 per repository; at most one open PR per head.
CREATE TABLE IF NOT EXISTS pull_requests (
    repo       TEXT NOT NULL,
    number     INTEGER NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    head       TEXT NOT NULL,
    base       TEXT NOT NULL,
    state      TEXT NOT NULL,
    ticket_id  TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (repo, number)
);
CREATE UNIQUE INDEX IF NOT EXISTS pull_requests_open_head
    ON pull_requests(repo, head) WHERE state = 'open';

CREATE TABLE IF NOT EXISTS pr_comments (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    repo       TEXT NOT NULL,
    number     INTEGER NOT NULL,
    author     TEXT NOT NULL,
    can_write  INTEGER NOT NULL,
    body       TEXT NOT NULL,
    path       TEXT,
    line       INTEGER,
    created_ms INTEGER NOT NULL,
    FOREIGN KEY (repo, number) REFERENCES pull_requests(repo, number)
);
CREATE INDEX IF NOT EXISTS pr_comments_pr ON pr_comments(repo, number, seq);

-- Who may write to a local repository (GitHub's collaborators, here).
CREATE TABLE IF NOT EXISTS forge_writers (
    repo      TEXT NOT NULL,
    user      TEXT NOT NULL,
    can_write INTEGER NOT NULL,
    PRIMARY KEY (repo, user)
);

-- Idempotency records: a key in progress until in_progress_ms, then done
-- (with its result) until keep_ms.
CREATE TABLE IF NOT EXISTS idempotency (
    key            TEXT PRIMARY KEY,
    status         TEXT NOT NULL,
    in_progress_ms INTEGER NOT NULL,
    keep_ms        INTEGER NOT NULL,
    result         TEXT
);
