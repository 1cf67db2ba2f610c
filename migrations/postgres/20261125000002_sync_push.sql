-- The write half of the sync protocol.
--
-- A client (one install of the desktop app, for one user) sends mutations
-- with gap-free sequence numbers. `sync.clients` holds how far each client
-- has got; `sync.client_mutations` keeps every settled mutation's result so
-- a replay returns it and changes nothing. `sync.field_clock` remembers when
-- each field of each row was last edited (by the editor's clock), which is
-- how concurrent offline edits are merged field by field; every value that
-- lost such a merge is kept in `sync.conflicts`, visible to the users
-- involved, so it can be seen and restored.
--
-- The server does this bookkeeping as `service_role`; the data changes
-- themselves run as the user (`authenticated`), under RLS, through the
-- sync.apply_* functions below.

CREATE SCHEMA sync;
REVOKE ALL ON SCHEMA sync FROM PUBLIC;
GRANT USAGE ON SCHEMA sync TO authenticated, service_role;

CREATE TABLE sync.clients (
    client_id    uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    last_seq     bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_push_at timestamptz
);
CREATE INDEX clients_user_idx ON sync.clients (user_id);

CREATE TABLE sync.client_mutations (
    client_id  uuid NOT NULL REFERENCES sync.clients (client_id) ON DELETE CASCADE,
    seq        bigint NOT NULL CHECK (seq > 0),
    table_name text NOT NULL,
    row_id     uuid NOT NULL,
    -- The MutationOutcome as the client was told it.
    outcome    jsonb NOT NULL,
    settled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, seq)
);

CREATE TABLE sync.field_clock (
    table_name text NOT NULL,
    row_id     uuid NOT NULL,
    field      text NOT NULL,
    edited_at  timestamptz NOT NULL,
    edited_by  uuid,
    client_id  uuid,
    client_seq bigint,
    PRIMARY KEY (table_name, row_id, field)
);

CREATE TABLE sync.conflicts (
    id            uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    table_name    text NOT NULL,
    row_id        uuid NOT NULL,
    field         text NOT NULL,
    kept_value    jsonb,
    lost_value    jsonb,
    -- Who made each edit, and the mutation that decided it.
    kept_by       uuid,
    lost_by       uuid,
    client_id     uuid NOT NULL,
    client_seq    bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    resolution    text CHECK (resolution IN ('restored', 'dismissed'))
);
CREATE INDEX conflicts_row_idx ON sync.conflicts (table_name, row_id);
CREATE INDEX conflicts_kept_by_idx ON sync.conflicts (kept_by);
CREATE INDEX conflicts_lost_by_idx ON sync.conflicts (lost_by);
CREATE INDEX conflicts_mutation_idx ON sync.conflicts (client_id, client_seq);

GRANT ALL ON ALL TABLES IN SCHEMA sync TO service_role;
-- Users read the conflicts they are part of, and mark them resolved.
GRANT SELECT, UPDATE (resolved_at, resolution) ON sync.conflicts TO authenticated;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sync.clients', 'sync.client_mutations', 'sync.field_clock', 'sync.conflicts'] LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

CREATE POLICY conflicts_select ON sync.conflicts FOR SELECT TO authenticated
    USING ((kept_by = (SELECT auth.uid()) OR lost_by = (SELECT auth.uid()) OR (SELECT public.is_admin()))
           AND (SELECT public.is_personal_session()));
CREATE POLICY conflicts_update ON sync.conflicts FOR UPDATE TO authenticated
    USING ((kept_by = (SELECT auth.uid()) OR lost_by = (SELECT auth.uid())) AND (SELECT public.is_personal_session()))
    WITH CHECK ((kept_by = (SELECT auth.uid()) OR lost_by = (SELECT auth.uid())) AND (SELECT public.is_personal_session()));

---------------------------------------------------------------------------
-- Audit rows name the mutation that caused them.
---------------------------------------------------------------------------
ALTER TABLE public.audit_history ADD COLUMN client_id uuid, ADD COLUMN client_seq bigint;
CREATE INDEX audit_history_mutation_idx ON public.audit_history (client_id, client_seq)
    WHERE client_id IS NOT NULL;

CREATE OR REPLACE FUNCTION public.create_audit_history() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_row := to_jsonb(OLD) - 'token_hash';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        new_row := to_jsonb(NEW) - 'token_hash';
    END IF;
    IF TG_OP = 'UPDATE' AND (old_row - 'updated_at') = (new_row - 'updated_at') THEN
        RETURN NULL;
    END IF;

    INSERT INTO public.audit_history
        (table_name, record_id, action, old_values, new_values, changed_by, integration_token_id,
         client_id, client_seq)
    VALUES
        (TG_TABLE_NAME, (coalesce(new_row, old_row) ->> 'id')::uuid, TG_OP,
         old_row, new_row, auth.uid(), auth.integration_token_id(),
         nullif(current_setting('crm.client_id', true), '')::uuid,
         nullif(current_setting('crm.client_seq', true), '')::bigint);
    RETURN NULL;
END
$$;

---------------------------------------------------------------------------
-- Applying a mutation, as the calling user (SECURITY INVOKER: RLS and the
-- triggers decide). Table names are checked against the syncable tables,
-- column names against the table's real columns, and both are quoted with
-- %I: no identifier from a request reaches SQL unchecked, and values only
-- ever travel as parameters.
---------------------------------------------------------------------------
CREATE FUNCTION sync.checked_table(p_table text) RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
BEGIN
    IF p_table NOT IN ('profiles', 'products', 'acquisition_stages', 'customers', 'customer_interactions',
                       'tickets', 'ticket_assignees', 'ticket_comments', 'ticket_attachments') THEN
        RAISE EXCEPTION 'table % is not synced', p_table USING ERRCODE = 'undefined_table';
    END IF;
    RETURN format('public.%I', p_table)::regclass;
END
$$;

-- The comma-separated, quoted column list of p_values' keys, each checked
-- to be a real column of the table.
CREATE FUNCTION sync.checked_columns(p_table regclass, p_values jsonb) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
DECLARE
    k text;
    cols text[] := '{}';
BEGIN
    FOR k IN SELECT jsonb_object_keys(p_values) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute
                       WHERE attrelid = p_table AND attname = k AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION 'column % does not exist', k USING ERRCODE = 'undefined_column';
        END IF;
        cols := cols || format('%I', k);
    END LOOP;
    RETURN array_to_string(cols, ', ');
END
$$;

-- The row as the caller may see it, locked for the rest of the
-- transaction; NULL when it does not exist or is not visible.
CREATE FUNCTION sync.current_row(p_table text, p_id uuid) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    result jsonb;
BEGIN
    EXECUTE format('SELECT to_jsonb(t) FROM %s t WHERE t.id = $1 FOR UPDATE', sync.checked_table(p_table))
        INTO result USING p_id;
    RETURN result;
END
$$;

-- p_values with each value cast through its column's type and back, so a
-- client's "2026-01-01T09:00:00Z" and the server's
-- "2026-01-01T09:00:00+00:00" compare equal. Raises on a value the column
-- cannot hold.
CREATE FUNCTION sync.normalize(p_table text, p_values jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
DECLARE
    tbl regclass := sync.checked_table(p_table);
    full_row jsonb;
BEGIN
    PERFORM sync.checked_columns(tbl, p_values);
    EXECUTE format('SELECT to_jsonb(jsonb_populate_record(NULL::%s, $1))', tbl) INTO full_row USING p_values;
    RETURN (SELECT coalesce(jsonb_object_agg(key, full_row -> key), '{}'::jsonb)
            FROM jsonb_object_keys(p_values) key);
END
$$;

CREATE FUNCTION sync.apply_insert(p_table text, p_id uuid, p_values jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    tbl regclass := sync.checked_table(p_table);
    vals jsonb := p_values || jsonb_build_object('id', p_id);
    cols text := sync.checked_columns(tbl, vals);
BEGIN
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1)', tbl, cols, cols, tbl)
        USING vals;
END
$$;

-- Returns whether a row was updated (false: gone or not visible).
CREATE FUNCTION sync.apply_update(p_table text, p_id uuid, p_values jsonb) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    tbl regclass := sync.checked_table(p_table);
    cols text := sync.checked_columns(tbl, p_values);
    n bigint;
BEGIN
    IF p_values = '{}'::jsonb THEN
        RETURN true;
    END IF;
    EXECUTE format('UPDATE %s t SET (%s) = (SELECT %s FROM jsonb_populate_record(NULL::%s, $1)) WHERE t.id = $2',
                   tbl, cols, cols, tbl)
        USING p_values, p_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n = 1;
END
$$;

-- Returns whether a row was deleted.
CREATE FUNCTION sync.apply_delete(p_table text, p_id uuid) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('DELETE FROM %s t WHERE t.id = $1', sync.checked_table(p_table)) USING p_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n = 1;
END
$$;

GRANT EXECUTE ON FUNCTION
    sync.checked_table(text), sync.checked_columns(regclass, jsonb), sync.current_row(text, uuid),
    sync.normalize(text, jsonb), sync.apply_insert(text, uuid, jsonb),
    sync.apply_update(text, uuid, jsonb), sync.apply_delete(text, uuid)
    TO authenticated, service_role;
