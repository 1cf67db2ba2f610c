-- The desktop replica: what the signed-in user may see of the central
-- database, plus the local-only state that makes offline work safe (the
-- outbox, the inbox of refused changes, sync cursors, the reminder log).
--
-- Replicated tables mirror the PostgreSQL columns, stored as SQLite sees
-- JSON: text (uuids, enums, timestamps exactly as the server spelled them, so
-- checksums agree), integers (booleans as 0/1) and JSON text. They carry no
-- foreign keys to each other: row-level security means a visible row may
-- point at an invisible one (a ticket assigned to me for a customer someone
-- else owns), and the change feed does not promise parent-before-child
-- order. Referential integrity is the server's; dependants leave with their
-- own removals.

CREATE TABLE profiles (
    id          TEXT PRIMARY KEY,
    email       TEXT,
    full_name   TEXT,
    avatar_url  TEXT,
    role        TEXT NOT NULL,
    created_at  TEXT,
    updated_at  TEXT
);

-- Colleagues' names (never their email), refreshed from get_colleagues().
CREATE TABLE colleagues (
    id          TEXT PRIMARY KEY,
    full_name   TEXT,
    avatar_url  TEXT,
    role        TEXT NOT NULL
);

CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    is_active   INTEGER NOT NULL,
    created_at  TEXT,
    updated_at  TEXT
);

CREATE TABLE acquisition_stages (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    order_index INTEGER NOT NULL,
    created_at  TEXT
);

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
CREATE INDEX customers_name_idx ON customers (name COLLATE NOCASE);
CREATE INDEX customers_owner_idx ON customers (owner);
CREATE INDEX customers_stage_idx ON customers (acquisition_stage);

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
);
CREATE INDEX customer_interactions_customer_idx ON customer_interactions (customer_id, created_at);
CREATE INDEX customer_interactions_follow_up_idx ON customer_interactions (follow_up_date)
    WHERE follow_up_date IS NOT NULL;

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
CREATE INDEX tickets_customer_idx ON tickets (customer_id);
CREATE INDEX tickets_assigned_to_idx ON tickets (assigned_to);
CREATE INDEX tickets_created_by_idx ON tickets (created_by);

CREATE TABLE ticket_workflow_history (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    changed_by  TEXT,
    note        TEXT,
    created_at  TEXT
);
CREATE INDEX ticket_workflow_history_ticket_idx ON ticket_workflow_history (ticket_id, created_at);

CREATE TABLE ticket_assignees (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    assigned_at TEXT,
    assigned_by TEXT
);
CREATE INDEX ticket_assignees_ticket_idx ON ticket_assignees (ticket_id);
CREATE INDEX ticket_assignees_user_idx ON ticket_assignees (user_id);

CREATE TABLE ticket_comments (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    content     TEXT NOT NULL,
    is_internal INTEGER NOT NULL,
    created_by  TEXT,
    created_at  TEXT,
    updated_at  TEXT
);
CREATE INDEX ticket_comments_ticket_idx ON ticket_comments (ticket_id, created_at);

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
CREATE INDEX ticket_attachments_ticket_idx ON ticket_attachments (ticket_id);

-- Conflicts this user was part of (their value lost, or beat someone's).
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

---------------------------------------------------------------------------
-- Full-text search: external-content FTS5 tables over the replica's rows,
-- kept in step by triggers (upserts fire the update triggers).
---------------------------------------------------------------------------
CREATE VIRTUAL TABLE customers_fts USING fts5(
    name, email, phone, content = 'customers', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (rowid, name, email, phone) VALUES (new.rowid, new.name, new.email, new.phone);
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, email, phone)
        VALUES ('delete', old.rowid, old.name, old.email, old.phone);
END;
CREATE TRIGGER customers_fts_update AFTER UPDATE OF name, email, phone ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, email, phone)
        VALUES ('delete', old.rowid, old.name, old.email, old.phone);
    INSERT INTO customers_fts (rowid, name, email, phone) VALUES (new.rowid, new.name, new.email, new.phone);
END;

CREATE VIRTUAL TABLE tickets_fts USING fts5(
    title, description, content = 'tickets', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF title, description ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
    INSERT INTO tickets_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;

CREATE VIRTUAL TABLE ticket_comments_fts USING fts5(
    content, content = 'ticket_comments', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER ticket_comments_fts_insert AFTER INSERT ON ticket_comments BEGIN
    INSERT INTO ticket_comments_fts (rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER ticket_comments_fts_delete AFTER DELETE ON ticket_comments BEGIN
    INSERT INTO ticket_comments_fts (ticket_comments_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
CREATE TRIGGER ticket_comments_fts_update AFTER UPDATE OF content ON ticket_comments BEGIN
    INSERT INTO ticket_comments_fts (ticket_comments_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO ticket_comments_fts (rowid, content) VALUES (new.rowid, new.content);
END;

---------------------------------------------------------------------------
-- Local-only state
---------------------------------------------------------------------------

-- Changes made here and not yet settled by the server, in sequence order.
-- `mutation` is the protocol's Mutation as JSON, exactly as it will be sent.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY,
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    mutation    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX outbox_row_idx ON outbox (table_name, row_id);

-- Changes the server refused: kept until the user retries or discards them.
CREATE TABLE rejected (
    seq         INTEGER PRIMARY KEY,
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    mutation    TEXT NOT NULL,
    code        TEXT NOT NULL,
    message     TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);

-- Conflicts the user has looked at and set aside (the server's record stays).
CREATE TABLE dismissed_conflicts (
    conflict_id TEXT PRIMARY KEY,
    dismissed_at TEXT NOT NULL
);

-- Small facts: the install id, the next sequence number, the pull cursor.
CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Follow-up reminders shown, one per interaction and date: a follow-up moved
-- to a new date fires again, a restart or re-sync never repeats one.
CREATE TABLE reminders_fired (
    interaction_id TEXT NOT NULL,
    follow_up_date TEXT NOT NULL,
    fired_at       TEXT NOT NULL,
    snoozed_until  TEXT,
    PRIMARY KEY (interaction_id, follow_up_date)
);

-- The server's state of rows with pending changes (NULL: the server has no
-- such row, e.g. an unsent insert), so a row can be rebuilt as server state
-- plus the changes still pending when either side moves.
CREATE TABLE outbox_base (
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    row         TEXT,
    PRIMARY KEY (table_name, row_id)
);
