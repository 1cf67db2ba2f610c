CREATE TABLE acquisition_stages (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    order_index INTEGER NOT NULL,
    created_at  TEXT
);

CREATE TABLE attachment_files (
    attachment_id TEXT PRIMARY KEY,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    -- 'waiting': attached here, the bytes not yet on the server (the
    --   attachment's row is not pushed before them);
    -- 'uploaded': the server has them;
    -- 'refused': the server would not take them (why: refusal_code,
    --   last_error); the attachment's row goes to the inbox;
    -- 'downloaded': someone's file, fetched to open it.
    state         TEXT NOT NULL CHECK (state IN ('waiting', 'uploaded', 'refused', 'downloaded')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    refusal_code  TEXT,
    last_error    TEXT,
    added_at      TEXT NOT NULL,
    -- Least recently opened goes first when the cache is over its size.
    opened_at     TEXT
);

CREATE TABLE colleagues (
    id          TEXT PRIMARY KEY,
    full_name   TEXT,
    avatar_url  TEXT,
    role        TEXT NOT NULL
);

CREATE TABLE conflicts (
    id          TEXT PRIMARY KEY,
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    field       TEXT NOT NULL,
    kept_value  TEXT,
    lost_value  TEXT,
    kept_by     TEXT,
    lost_by     TEXT,
    client_id   TEXT,
    client_seq  INTEGER,
    created_at  TEXT,
    resolved_at TEXT,
    resolution  TEXT
);

CREATE TABLE customer_interactions (
    id             TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    type           TEXT NOT NULL,
    channel        TEXT NOT NULL,
    note           TEXT,
    follow_up_date TEXT,
    created_by     TEXT,
    created_at     TEXT,
    updated_at     TEXT
, follow_up_done_at TEXT);

CREATE TABLE customers (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    email             TEXT,
    phone             TEXT,
    product_id        TEXT,
    status            TEXT NOT NULL,
    acquisition_stage TEXT NOT NULL,
    owner             TEXT,
    is_archived       INTEGER NOT NULL,
    created_at        TEXT,
    updated_at        TEXT
);

CREATE VIRTUAL TABLE customers_fts USING fts5(
    name, email, phone, content = 'customers', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2');

CREATE TABLE 'customers_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;

CREATE TABLE 'customers_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

CREATE TABLE 'customers_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);

CREATE TABLE 'customers_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

CREATE TABLE dismissed_conflicts (
    conflict_id TEXT PRIMARY KEY,
    dismissed_at TEXT NOT NULL
);

CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY,
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    mutation    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE outbox_base (
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    row         TEXT,
    PRIMARY KEY (table_name, row_id)
);

CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    is_active   INTEGER NOT NULL,
    created_at  TEXT,
    updated_at  TEXT
);

CREATE TABLE profiles (
    id          TEXT PRIMARY KEY,
    email       TEXT,
    full_name   TEXT,
    avatar_url  TEXT,
    role        TEXT NOT NULL,
    created_at  TEXT,
    updated_at  TEXT
);

CREATE TABLE refetch_seen (
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    PRIMARY KEY (table_name, row_id)
) WITHOUT ROWID;

CREATE TABLE rejected (
    seq         INTEGER PRIMARY KEY,
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    mutation    TEXT NOT NULL,
    code        TEXT NOT NULL,
    message     TEXT NOT NULL,
    rejected_at TEXT NOT NULL
, subject TEXT, reason TEXT, field TEXT);

CREATE TABLE reminders_fired (
    interaction_id TEXT NOT NULL,
    follow_up_date TEXT NOT NULL,
    fired_at       TEXT NOT NULL,
    snoozed_until  TEXT,
    PRIMARY KEY (interaction_id, follow_up_date)
);

CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE ticket_assignees (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    assigned_at TEXT,
    assigned_by TEXT
);

CREATE TABLE ticket_attachments (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    file_path   TEXT NOT NULL,
    file_size   INTEGER NOT NULL,
    mime_type   TEXT NOT NULL,
    uploaded_by TEXT,
    uploaded_at TEXT
);

CREATE TABLE ticket_comments (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    content     TEXT NOT NULL,
    is_internal INTEGER NOT NULL,
    created_by  TEXT,
    created_at  TEXT,
    updated_at  TEXT
);

CREATE VIRTUAL TABLE ticket_comments_fts USING fts5(
    content, content = 'ticket_comments', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2');

CREATE TABLE 'ticket_comments_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;

CREATE TABLE 'ticket_comments_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

CREATE TABLE 'ticket_comments_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);

CREATE TABLE 'ticket_comments_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

CREATE TABLE ticket_workflow_history (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    changed_by  TEXT,
    note        TEXT,
    created_at  TEXT
);

CREATE TABLE tickets (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT,
    priority    TEXT NOT NULL,
    status      TEXT NOT NULL,
    customer_id TEXT,
    assigned_to TEXT,
    created_by  TEXT,
    created_at  TEXT,
    updated_at  TEXT,
    resolved_at TEXT,
    closed_at   TEXT
);

CREATE VIRTUAL TABLE tickets_fts USING fts5(
    title, description, content = 'tickets', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2');

CREATE TABLE 'tickets_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;

CREATE TABLE 'tickets_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

CREATE TABLE 'tickets_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);

CREATE TABLE 'tickets_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

CREATE INDEX attachment_files_sha256_idx ON attachment_files (sha256);

CREATE INDEX customer_interactions_customer_idx ON customer_interactions (customer_id, created_at);

CREATE INDEX customer_interactions_follow_up_idx ON customer_interactions (follow_up_date)
    WHERE follow_up_date IS NOT NULL;

CREATE INDEX customers_name_idx ON customers (name COLLATE NOCASE);

CREATE INDEX customers_owner_idx ON customers (owner);

CREATE INDEX customers_stage_idx ON customers (acquisition_stage);

CREATE INDEX outbox_row_idx ON outbox (table_name, row_id);

CREATE INDEX ticket_assignees_ticket_idx ON ticket_assignees (ticket_id);

CREATE INDEX ticket_assignees_user_idx ON ticket_assignees (user_id);

CREATE INDEX ticket_attachments_ticket_idx ON ticket_attachments (ticket_id);

CREATE INDEX ticket_comments_ticket_idx ON ticket_comments (ticket_id, created_at);

CREATE INDEX ticket_workflow_history_ticket_idx ON ticket_workflow_history (ticket_id, created_at);

CREATE INDEX tickets_assigned_to_idx ON tickets (assigned_to);

CREATE INDEX tickets_created_by_idx ON tickets (created_by);

CREATE INDEX tickets_customer_idx ON tickets (customer_id);

CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers
WHEN NOT EXISTS (SELECT 1 FROM sync_state WHERE key = 'search_paused') BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, email, phone) VALUES ('delete', old.rowid, old.name, old.email, old.phone);
END;

CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers
WHEN NOT EXISTS (SELECT 1 FROM sync_state WHERE key = 'search_paused') BEGIN
    INSERT INTO customers_fts (rowid, name, email, phone) VALUES (new.rowid, new.name, new.email, new.phone);
END;

CREATE TRIGGER customers_fts_update AFTER UPDATE OF name, email, phone ON customers
WHEN NOT EXISTS (SELECT 1 FROM sync_state WHERE key = 'search_paused') BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, email, phone) VALUES ('delete', old.rowid, old.name, old.email, old.phone);
    INSERT INTO customers_fts (rowid, name, email, phone) VALUES (new.rowid, new.name, new.email, new.phone);
END;

CREATE TRIGGER ticket_comments_fts_delete AFTER DELETE ON ticket_comments
WHEN NOT EXISTS (SELECT 1 FROM sync_state WHERE key = 'search_paused') BEGIN
    INSERT INTO ticket_comments_fts (ticket_comments_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;

CREATE TRIGGER ticket_comments_fts_insert AFTER INSERT ON ticket_comments
WHEN NOT EXISTS (SELECT 1 FROM sync_state WHERE key = 'search_paused') BEGIN
    INSERT INTO ticket_comments_fts (rowid, content) VALUES (new.rowid, new.content);
END;

CREATE TRIGGER ticket_comments_fts_update AFTER UPDATE OF content ON ticket_comments
WHEN NOT EXISTS (SELECT 1 FROM sync_state WHERE key = 'search_paused') BEGIN
    INSERT INTO ticket_comments_fts (ticket_comments_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO ticket_comments_fts (rowid, content) VALUES (new.rowid, new.content);
END;

CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets
WHEN NOT EXISTS (SELECT 1 FROM sync_state WHERE key = 'search_paused') BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
END;

CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets
WHEN NOT EXISTS (SELECT 1 FROM sync_state WHERE key = 'search_paused') BEGIN
    INSERT INTO tickets_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;

CREATE TRIGGER tickets_fts_update AFTER UPDATE OF title, description ON tickets
WHEN NOT EXISTS (SELECT 1 FROM sync_state WHERE key = 'search_paused') BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
    INSERT INTO tickets_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;

