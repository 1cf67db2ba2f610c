-- One list of the synced tables in SQL, as data; the audit trigger as
-- what it now is.
--
-- Why: the synced tables were listed in sync.pulled_tables(), again in
-- sync.checked_table() and again (with their columns) in
-- sync.writable_columns(), each a CASE or an array literal to keep in step
-- by hand. sync.synced_tables states them once: load order, the relation a
-- name stands for, and the columns a client may write on insert and on
-- update (NULL: clients write nothing there). The functions read it, and
-- so must any loop that creates per-table triggers from now on. The
-- domain's catalogue (crm_domain::catalogue) says the same in Rust;
-- desktop-core/tests/parity.rs compares the two.

CREATE TABLE sync.synced_tables (
    name text PRIMARY KEY,
    load_order int NOT NULL UNIQUE,
    relation regclass NOT NULL UNIQUE,
    insertable text[],
    updatable text[],
    CHECK ((insertable IS NULL) = (updatable IS NULL))
);

INSERT INTO sync.synced_tables (name, load_order, relation, insertable, updatable) VALUES
    ('profiles', 1, 'public.profiles', '{}',
        ARRAY['full_name', 'avatar_url', 'role']),
    ('products', 2, 'public.products', ARRAY['name', 'description', 'is_active'],
        ARRAY['name', 'description', 'is_active']),
    ('acquisition_stages', 3, 'public.acquisition_stages', ARRAY['name', 'order_index'],
        ARRAY['order_index']),
    ('customers', 4, 'public.customers',
        ARRAY['name', 'email', 'phone', 'product_id', 'status', 'acquisition_stage', 'owner', 'is_archived', 'created_at'],
        ARRAY['name', 'email', 'phone', 'product_id', 'status', 'acquisition_stage', 'owner', 'is_archived']),
    ('customer_interactions', 5, 'public.customer_interactions',
        ARRAY['customer_id', 'type', 'channel', 'note', 'follow_up_date', 'created_at'],
        ARRAY['customer_id', 'type', 'channel', 'note', 'follow_up_date', 'follow_up_done_at']),
    ('tickets', 6, 'public.tickets',
        ARRAY['title', 'description', 'priority', 'customer_id', 'assigned_to', 'created_at'],
        ARRAY['title', 'description', 'priority', 'status', 'customer_id', 'assigned_to']),
    ('ticket_workflow_history', 7, 'public.ticket_workflow_history', NULL, NULL),
    ('ticket_assignees', 8, 'public.ticket_assignees', ARRAY['ticket_id', 'user_id', 'assigned_at'],
        ARRAY['user_id']),
    ('ticket_comments', 9, 'public.ticket_comments', ARRAY['ticket_id', 'content', 'is_internal', 'created_at'],
        ARRAY['content', 'is_internal']),
    ('ticket_attachments', 10, 'public.ticket_attachments',
        ARRAY['ticket_id', 'file_name', 'file_path', 'file_size', 'mime_type', 'uploaded_at'],
        ARRAY['file_name', 'mime_type']),
    ('conflicts', 11, 'sync.conflicts', NULL, NULL);

-- Public knowledge (the protocol documents it); nobody but migrations
-- changes it.
ALTER TABLE sync.synced_tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync.synced_tables FORCE ROW LEVEL SECURITY;
CREATE POLICY synced_tables_read ON sync.synced_tables FOR SELECT
    TO authenticated, service_role USING (true);
REVOKE ALL ON sync.synced_tables FROM PUBLIC;
GRANT SELECT ON sync.synced_tables TO authenticated, service_role;

CREATE OR REPLACE FUNCTION sync.pulled_tables() RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    SELECT array_agg(name ORDER BY load_order) FROM sync.synced_tables
$$;

CREATE OR REPLACE FUNCTION sync.pulled_table(p_table text) RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
DECLARE
    rel regclass := (SELECT relation FROM sync.synced_tables WHERE name = p_table);
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'table % is not synced', p_table USING ERRCODE = 'undefined_table';
    END IF;
    RETURN rel;
END
$$;

CREATE OR REPLACE FUNCTION sync.checked_table(p_table text) RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
DECLARE
    rel regclass := (SELECT relation FROM sync.synced_tables
                     WHERE name = p_table AND updatable IS NOT NULL);
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'table % is not synced', p_table USING ERRCODE = 'undefined_table';
    END IF;
    RETURN rel;
END
$$;

CREATE OR REPLACE FUNCTION sync.writable_columns(p_table text, p_op text) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT CASE p_op WHEN 'insert' THEN insertable WHEN 'update' THEN updatable END
    FROM sync.synced_tables WHERE name = p_table
$$;

-- The audit trigger as it now is: inserts and deletes are audited per
-- statement (public.audit_inserted_rows, public.audit_deleted_rows, since
-- ..._statement_level_logs), so the row-level function only ever sees an
-- UPDATE; its INSERT and DELETE branches were dead code.
CREATE FUNCTION public.audit_updated_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    old_row jsonb := to_jsonb(OLD) - 'token_hash';
    new_row jsonb := to_jsonb(NEW) - 'token_hash';
    claims jsonb;
BEGIN
    -- A write that changes nothing but the stamp is not a change.
    IF (old_row - 'updated_at') = (new_row - 'updated_at') THEN
        RETURN NULL;
    END IF;
    claims := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    INSERT INTO public.audit_history
        (table_name, record_id, action, old_values, new_values, changed_by, integration_token_id,
         client_id, client_seq)
    VALUES
        (TG_TABLE_NAME, (new_row ->> 'id')::uuid, 'UPDATE', old_row, new_row,
         nullif(claims ->> 'sub', '')::uuid, nullif(claims ->> 'integration_token_id', '')::uuid,
         nullif(current_setting('crm.client_id', true), '')::uuid,
         nullif(current_setting('crm.client_seq', true), '')::bigint);
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION public.audit_updated_row() FROM PUBLIC;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.tgrelid::regclass AS rel, t.tgname
             FROM pg_trigger t
             WHERE t.tgfoid = 'public.create_audit_history()'::regprocedure AND NOT t.tgisinternal
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.rel);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION public.audit_updated_row()', r.tgname, r.rel);
    END LOOP;
END
$$;

DROP FUNCTION public.create_audit_history();
