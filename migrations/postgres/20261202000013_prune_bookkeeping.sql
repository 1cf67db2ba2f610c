-- The sync bookkeeping stops growing for ever (security review L7).
--
-- Why: every settled mutation's outcome, every field clock and every
-- conflict was kept for good, and so was every client id ever used. What
-- each is needed for, and so how long it is kept:
-- - an outcome answers a replay, which only a client that lost the answer
--   sends, from the head of its outbox: at most one batch behind the
--   client's last. Kept: the client's last 1,000, and everything settled
--   within the retention period. A replay of a pruned one (a very old
--   backup) is answered "forked": the client sends it again under a new id.
-- - a field clock decides merges of a row that exists: the clocks of rows
--   gone (deleted outside sync, or by a cascade) are dropped.
-- - a conflict is the agent's to see until resolved: resolved ones older
--   than the retention period go, and so do those of rows gone for as long.
-- - a client id not heard from for a year is forgotten, with its outcomes;
--   if it comes back, it is registered afresh from its outbox's head.

CREATE FUNCTION sync.prune_bookkeeping(keep interval)
RETURNS TABLE (outcomes bigint, clocks bigint, conflicts bigint, clients bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    t record;
    n bigint;
BEGIN
    IF keep < interval '0' THEN
        RAISE EXCEPTION 'retention must not be negative' USING ERRCODE = '22023';
    END IF;
    WITH gone AS (
        DELETE FROM sync.clients
        WHERE coalesce(last_push_at, created_at) < now() - greatest(keep, interval '365 days')
        RETURNING client_id
    ), their AS (
        DELETE FROM sync.client_mutations m USING gone g WHERE m.client_id = g.client_id
    )
    SELECT count(*) INTO clients FROM gone;

    WITH gone AS (
        DELETE FROM sync.client_mutations m
        USING sync.clients c
        WHERE m.client_id = c.client_id
          AND m.seq <= c.last_seq - 1000
          AND m.settled_at < now() - keep
        RETURNING 1
    )
    SELECT count(*) INTO outcomes FROM gone;

    clocks := 0;
    conflicts := 0;
    FOR t IN SELECT name, relation FROM sync.synced_tables WHERE updatable IS NOT NULL LOOP
        EXECUTE format(
            'WITH gone AS (DELETE FROM sync.field_clock c WHERE c.table_name = $1
                 AND NOT EXISTS (SELECT FROM %s r WHERE r.id = c.row_id) RETURNING 1)
             SELECT count(*) FROM gone', t.relation)
            INTO n USING t.name;
        clocks := clocks + n;
        EXECUTE format(
            'WITH gone AS (DELETE FROM sync.conflicts k WHERE k.table_name = $1
                 AND k.created_at < now() - $2
                 AND (k.resolved_at IS NOT NULL
                      OR NOT EXISTS (SELECT FROM %s r WHERE r.id = k.row_id))
                 RETURNING 1)
             SELECT count(*) FROM gone', t.relation)
            INTO n USING t.name, keep;
        conflicts := conflicts + n;
    END LOOP;
    RETURN NEXT;
END
$$;

REVOKE ALL ON FUNCTION sync.prune_bookkeeping(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sync.prune_bookkeeping(interval) TO service_role;
