-- Audit rows and change-log rows for inserts and deletes, written once per
-- statement; and a push's runs of inserts applied as multi-row statements.
--
-- Why: in a push, and in any multi-row write, the row-level audit trigger
-- was most of the cost of a write (~0.2 ms a row: a PL/pgSQL call with its
-- settings saved and restored, the claims parsed again, and a one-row
-- INSERT into audit_history, per row), and the change-log trigger much of
-- the rest. A statement-level trigger with a transition table writes the
-- same rows with one INSERT ... SELECT per statement.
--
-- What stays the same: one audit row per inserted or deleted row, with the
-- same columns and values (table, id, action, whole row without secrets,
-- actor and integration token from the claims, client id and sequence
-- number); one `sync.changes` row per inserted or deleted row, and the
-- ticket scope rows of an assignee who comes or goes. Updates keep their
-- row-level triggers (the audit one compares each old row with its new
-- one, and the change log looks at what changed in each row): PostgreSQL
-- allows a transition table only on a trigger for one event, so each table
-- now has an update trigger and two statement triggers where it had one.
--
-- Which mutation caused a row: `crm.client_seq` (one number, for a
-- statement that writes one mutation) as before; for a multi-row insert of
-- a push, `crm.client_seqs` maps each row id to its number, set once for
-- the statement and cleared after it.

---------------------------------------------------------------------------
-- Audit.
---------------------------------------------------------------------------

CREATE FUNCTION public.audit_inserted_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    seqs jsonb := nullif(current_setting('crm.client_seqs', true), '')::jsonb;
    seq bigint := nullif(current_setting('crm.client_seq', true), '')::bigint;
BEGIN
    INSERT INTO public.audit_history
        (table_name, record_id, action, old_values, new_values, changed_by, integration_token_id,
         client_id, client_seq)
    SELECT TG_TABLE_NAME, r.id, 'INSERT', NULL, to_jsonb(r) - 'token_hash',
           nullif(claims ->> 'sub', '')::uuid, nullif(claims ->> 'integration_token_id', '')::uuid,
           nullif(current_setting('crm.client_id', true), '')::uuid,
           coalesce((seqs ->> r.id::text)::bigint, seq)
    FROM new_rows r;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.audit_deleted_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    seqs jsonb := nullif(current_setting('crm.client_seqs', true), '')::jsonb;
    seq bigint := nullif(current_setting('crm.client_seq', true), '')::bigint;
BEGIN
    INSERT INTO public.audit_history
        (table_name, record_id, action, old_values, new_values, changed_by, integration_token_id,
         client_id, client_seq)
    SELECT TG_TABLE_NAME, r.id, 'DELETE', to_jsonb(r) - 'token_hash', NULL,
           nullif(claims ->> 'sub', '')::uuid, nullif(claims ->> 'integration_token_id', '')::uuid,
           nullif(current_setting('crm.client_id', true), '')::uuid,
           coalesce((seqs ->> r.id::text)::bigint, seq)
    FROM old_rows r;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION public.audit_inserted_rows(), public.audit_deleted_rows() FROM PUBLIC;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'profiles', 'products', 'acquisition_stages', 'customers',
        'customer_interactions', 'tickets', 'ticket_assignees',
        'ticket_comments', 'ticket_attachments', 'integration_tokens'
    ] LOOP
        EXECUTE format('DROP TRIGGER %I ON public.%I', t || '_audit', t);
        EXECUTE format(
            'CREATE TRIGGER %I AFTER UPDATE ON public.%I '
            'FOR EACH ROW EXECUTE FUNCTION public.create_audit_history()',
            t || '_audit_update', t);
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT ON public.%I REFERENCING NEW TABLE AS new_rows '
            'FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows()',
            t || '_audit_insert', t);
        EXECUTE format(
            'CREATE TRIGGER %I AFTER DELETE ON public.%I REFERENCING OLD TABLE AS old_rows '
            'FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows()',
            t || '_audit_delete', t);
    END LOOP;
END
$$;

---------------------------------------------------------------------------
-- The change log. A statement that wrote nothing logs nothing (a statement
-- trigger fires even then), so no client is woken for nothing.
---------------------------------------------------------------------------
CREATE FUNCTION sync.log_inserted_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM new_rows) THEN
        RETURN NULL;
    END IF;
    INSERT INTO sync.changes (table_name, row_id, op) SELECT TG_TABLE_NAME, r.id, 'upsert' FROM new_rows r;
    -- A new assignee changes who sees the ticket and everything under it.
    -- (Inside the IF: the column exists only in this table.)
    IF TG_TABLE_NAME = 'ticket_assignees' THEN
        PERFORM sync.log_ticket_scope(r.ticket_id) FROM new_rows r;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION sync.log_deleted_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM old_rows) THEN
        RETURN NULL;
    END IF;
    INSERT INTO sync.changes (table_name, row_id, op) SELECT TG_TABLE_NAME, r.id, 'delete' FROM old_rows r;
    IF TG_TABLE_NAME = 'ticket_assignees' THEN
        PERFORM sync.log_ticket_scope(r.ticket_id) FROM old_rows r;
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION sync.log_inserted_rows(), sync.log_deleted_rows() FROM PUBLIC;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'profiles', 'products', 'acquisition_stages', 'customers', 'customer_interactions',
        'tickets', 'ticket_workflow_history', 'ticket_assignees', 'ticket_comments', 'ticket_attachments'
    ] LOOP
        EXECUTE format('DROP TRIGGER %I ON public.%I', t || '_sync', t);
        -- sync.log_change still handles updates (and, unchanged, every
        -- write to sync.conflicts).
        EXECUTE format(
            'CREATE TRIGGER %I AFTER UPDATE ON public.%I '
            'FOR EACH ROW EXECUTE FUNCTION sync.log_change()', t || '_sync_update', t);
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT ON public.%I REFERENCING NEW TABLE AS new_rows '
            'FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows()', t || '_sync_insert', t);
        EXECUTE format(
            'CREATE TRIGGER %I AFTER DELETE ON public.%I REFERENCING OLD TABLE AS old_rows '
            'FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows()', t || '_sync_delete', t);
    END LOOP;
END
$$;
