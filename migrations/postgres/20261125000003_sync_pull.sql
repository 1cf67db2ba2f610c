-- The read half of the sync protocol: a change log in commit order.
--
-- Every change to a synced table appends (table, row id, op) to
-- `sync.changes`, stamped with the writing transaction's id. A client's
-- cursor is a snapshot (`pg_current_snapshot()`); a pull returns the changes
-- whose transaction is visible in a new snapshot but was not in the cursor's.
-- A transaction that took its id early and commits late is therefore never
-- skipped, which a sequence or timestamp cursor cannot promise.
--
-- The log holds no row data: a pull reads each changed row as the caller
-- sees it now, under their RLS, and a changed row they cannot see is an
-- eviction. When what decides a row's visibility changes (a customer's
-- owner; a ticket's creator, assigned_to or assignees), the rows visible
-- only through it are logged as well, so they leave and come back with it.
-- A change of role can change everything a user sees: it logs a `reset`
-- for that user, and their next pull starts over (keeping their outbox).

CREATE TABLE sync.changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    table_name text NOT NULL,
    row_id     uuid NOT NULL,
    -- 'upsert': the row was written; 'delete': it is gone; 'scope': its
    -- visibility may have changed; 'reset': the user `row_id` must re-sync.
    op         text NOT NULL CHECK (op IN ('upsert', 'delete', 'scope', 'reset')),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_xid_idx ON sync.changes (xid, id);

GRANT ALL ON sync.changes TO service_role;
ALTER TABLE sync.changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync.changes FORCE ROW LEVEL SECURITY;

CREATE FUNCTION sync.log_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO sync.changes (table_name, row_id, op) VALUES (TG_TABLE_NAME, OLD.id, 'delete');
    ELSE
        INSERT INTO sync.changes (table_name, row_id, op) VALUES (TG_TABLE_NAME, NEW.id, 'upsert');
    END IF;

    -- Rows whose visibility hangs on this one. (Nested IFs: a condition
    -- naming OLD.owner cannot even be planned for a table without owner.)
    IF TG_TABLE_NAME = 'customers' THEN
        IF TG_OP = 'UPDATE' THEN
            IF OLD.owner IS DISTINCT FROM NEW.owner THEN
                INSERT INTO sync.changes (table_name, row_id, op)
                SELECT 'customer_interactions', i.id, 'scope'
                FROM public.customer_interactions i WHERE i.customer_id = NEW.id;
            END IF;
        END IF;
    ELSIF TG_TABLE_NAME = 'tickets' THEN
        IF TG_OP = 'UPDATE' THEN
            IF OLD.assigned_to IS DISTINCT FROM NEW.assigned_to OR OLD.created_by IS DISTINCT FROM NEW.created_by THEN
                PERFORM sync.log_ticket_scope(NEW.id);
            END IF;
        END IF;
    ELSIF TG_TABLE_NAME = 'ticket_assignees' THEN
        IF TG_OP = 'DELETE' THEN
            PERFORM sync.log_ticket_scope(OLD.ticket_id);
        ELSE
            PERFORM sync.log_ticket_scope(NEW.ticket_id);
        END IF;
    ELSIF TG_TABLE_NAME = 'profiles' THEN
        IF TG_OP = 'UPDATE' THEN
            IF OLD.role IS DISTINCT FROM NEW.role THEN
                INSERT INTO sync.changes (table_name, row_id, op) VALUES ('profiles', NEW.id, 'reset');
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- A ticket and everything visible through it.
CREATE FUNCTION sync.log_ticket_scope(p_ticket uuid) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    INSERT INTO sync.changes (table_name, row_id, op)
    SELECT 'tickets', p_ticket, 'scope'
    UNION ALL SELECT 'ticket_comments', c.id, 'scope' FROM public.ticket_comments c WHERE c.ticket_id = p_ticket
    UNION ALL SELECT 'ticket_workflow_history', h.id, 'scope' FROM public.ticket_workflow_history h WHERE h.ticket_id = p_ticket
    UNION ALL SELECT 'ticket_attachments', a.id, 'scope' FROM public.ticket_attachments a WHERE a.ticket_id = p_ticket
    UNION ALL SELECT 'ticket_assignees', s.id, 'scope' FROM public.ticket_assignees s WHERE s.ticket_id = p_ticket
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'profiles', 'products', 'acquisition_stages', 'customers', 'customer_interactions',
        'tickets', 'ticket_workflow_history', 'ticket_assignees', 'ticket_comments', 'ticket_attachments'
    ] LOOP
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON public.%I '
            'FOR EACH ROW EXECUTE FUNCTION sync.log_change()', t || '_sync', t);
    END LOOP;
END
$$;
CREATE TRIGGER conflicts_sync AFTER INSERT OR UPDATE OR DELETE ON sync.conflicts
    FOR EACH ROW EXECUTE FUNCTION sync.log_change();

-- Wake the servers' live streams once per writing transaction (NOTIFY folds
-- repeats within one transaction and delivers at commit).
CREATE FUNCTION sync.notify_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM pg_notify('crm_sync_changes', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER changes_notify AFTER INSERT ON sync.changes
    FOR EACH STATEMENT EXECUTE FUNCTION sync.notify_change();

-- The tables a client replicates, in the order a fresh client loads them
-- (parents before children).
CREATE FUNCTION sync.pulled_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT ARRAY['profiles', 'products', 'acquisition_stages', 'customers', 'customer_interactions',
                 'tickets', 'ticket_workflow_history', 'ticket_assignees', 'ticket_comments',
                 'ticket_attachments', 'conflicts']
$$;

CREATE FUNCTION sync.pulled_table(p_table text) RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
BEGIN
    IF NOT (p_table = ANY (sync.pulled_tables())) THEN
        RAISE EXCEPTION 'table % is not synced', p_table USING ERRCODE = 'undefined_table';
    END IF;
    IF p_table = 'conflicts' THEN
        RETURN 'sync.conflicts'::regclass;
    END IF;
    RETURN format('public.%I', p_table)::regclass;
END
$$;

-- The rows with these ids, as the caller sees them (SECURITY INVOKER: RLS
-- decides; an id not returned is not visible).
CREATE FUNCTION sync.rows_by_id(p_table text, p_ids uuid[]) RETURNS TABLE (id uuid, row_data jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT t.id, to_jsonb(t) FROM %s t WHERE t.id = ANY ($1)', sync.pulled_table(p_table))
        USING p_ids;
END
$$;

-- A page of every row of a table the caller sees, in id order after
-- p_after, for a fresh client's first load.
CREATE FUNCTION sync.rows_page(p_table text, p_after uuid, p_limit int) RETURNS TABLE (id uuid, row_data jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT t.id, to_jsonb(t) FROM %s t WHERE $1 IS NULL OR t.id > $1 ORDER BY t.id LIMIT $2',
        sync.pulled_table(p_table))
        USING p_after, p_limit;
END
$$;

-- Per table, how many rows the caller sees and a sum of their fingerprints
-- (md5 of `id|updated_at`, first 15 hex digits), which the client computes
-- the same way over its replica to find out whether it drifted.
CREATE FUNCTION sync.checksum(p_table text) RETURNS TABLE (row_count bigint, fingerprint_sum numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT count(*), coalesce(sum((''x'' || substr(md5(t.id::text || ''|'' || coalesce(to_jsonb(t) ->> ''updated_at'', '''')), 1, 15))::bit(60)::bigint::numeric), 0)
         FROM %s t', sync.pulled_table(p_table));
END
$$;

GRANT EXECUTE ON FUNCTION
    sync.pulled_tables(), sync.pulled_table(text), sync.rows_by_id(text, uuid[]),
    sync.rows_page(text, uuid, int), sync.checksum(text)
    TO authenticated, service_role;

-- How many rows of a table the caller sees (for a first load's progress).
CREATE FUNCTION sync.visible_count(p_table text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', sync.pulled_table(p_table)) INTO n;
    RETURN n;
END
$$;
GRANT EXECUTE ON FUNCTION sync.visible_count(text) TO authenticated, service_role;
