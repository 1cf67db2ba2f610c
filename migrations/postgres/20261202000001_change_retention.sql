-- The change log is pruned past a retention horizon, so it does not grow
-- forever. A client whose cursor is older than what was pruned may have
-- missed a change: its next pull says `reset`, and it loads again (keeping
-- its outbox), which is the only safe answer once the log is gone.
--
-- `pruned_through` is the highest transaction id whose log entries were
-- deleted. A cursor (a snapshot) has seen every transaction below its xmin,
-- so a cursor whose xmin is above `pruned_through` missed nothing pruned.
-- That test is conservative: a transaction left open across a whole
-- retention period can make a client reload although it missed nothing.

CREATE TABLE sync.log_horizon (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    pruned_through xid8 NOT NULL,
    pruned_at      timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON sync.log_horizon TO service_role;
ALTER TABLE sync.log_horizon ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync.log_horizon FORCE ROW LEVEL SECURITY;

-- The log is append-only and `changed_at` grows with it: a BRIN index finds
-- the old end for almost nothing per insert.
CREATE INDEX changes_changed_at_brin ON sync.changes USING brin (changed_at);

-- Deletes the entries older than `keep`, of transactions that are over
-- (below the oldest one still running), and moves the horizon. Returns how
-- many entries went.
CREATE FUNCTION sync.prune_changes(keep interval) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    n bigint;
    horizon xid8;
BEGIN
    IF keep < interval '0' THEN
        RAISE EXCEPTION 'retention must not be negative' USING ERRCODE = '22023';
    END IF;
    WITH gone AS (
        DELETE FROM sync.changes
        WHERE changed_at < now() - keep
          AND xid < pg_snapshot_xmin(pg_current_snapshot())
        RETURNING xid
    )
    SELECT count(*), (SELECT g.xid FROM gone g ORDER BY g.xid DESC LIMIT 1)
    INTO n, horizon
    FROM gone;
    IF horizon IS NOT NULL THEN
        INSERT INTO sync.log_horizon AS h (pruned_through) VALUES (horizon)
        ON CONFLICT (only_row) DO UPDATE
            SET pruned_through = greatest(h.pruned_through, excluded.pruned_through),
                pruned_at = now();
    END IF;
    RETURN n;
END
$$;
GRANT EXECUTE ON FUNCTION sync.prune_changes(interval) TO service_role;

-- Whether a cursor's snapshot is older than the pruned log.
CREATE FUNCTION sync.cursor_expired(since pg_snapshot) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
    SELECT EXISTS (
        SELECT 1 FROM sync.log_horizon h
        WHERE h.pruned_through >= pg_snapshot_xmin(since)
    )
$$;
GRANT EXECUTE ON FUNCTION sync.cursor_expired(pg_snapshot) TO service_role;
