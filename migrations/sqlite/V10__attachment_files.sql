-- The bytes of attachments on this device: the upload queue and the
-- download cache, one row per attachment whose bytes this device holds or
-- must send. The bytes themselves are files named by their SHA-256 under
-- the replica's `files/` directory (so the same photo attached twice is
-- kept once); a row never outlives its need: see store::attachments.
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
CREATE INDEX attachment_files_sha256_idx ON attachment_files (sha256);
