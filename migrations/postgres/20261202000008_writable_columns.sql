-- The columns a client may write, in SQL too (security review L4).
--
-- Why: sync.checked_columns checked only that a column exists, so the Rust
-- whitelist (crm_domain::protocol::SyncTable::insertable_columns and
-- updatable_columns) was all that kept a write through the sync functions
-- from setting `updated_at`, `created_by` or any other column the server
-- owns; the protocol's documentation promised whitelists in both places.
-- sync.writable_columns states the lists once in SQL, the functions that
-- apply a client's insert or update check every key against them (a
-- column outside them is refused as insufficient_privilege), and a parity
-- test (desktop-core/tests/parity.rs) compares them with the domain's.

CREATE FUNCTION sync.writable_columns(p_table text, p_op text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT CASE p_op
    WHEN 'insert' THEN CASE p_table
        WHEN 'profiles' THEN '{}'::text[]
        WHEN 'products' THEN ARRAY['name', 'description', 'is_active']
        WHEN 'acquisition_stages' THEN ARRAY['name', 'order_index']
        WHEN 'customers' THEN ARRAY['name', 'email', 'phone', 'product_id', 'status', 'acquisition_stage', 'owner', 'is_archived', 'created_at']
        WHEN 'customer_interactions' THEN ARRAY['customer_id', 'type', 'channel', 'note', 'follow_up_date', 'created_at']
        WHEN 'tickets' THEN ARRAY['title', 'description', 'priority', 'customer_id', 'assigned_to', 'created_at']
        WHEN 'ticket_assignees' THEN ARRAY['ticket_id', 'user_id', 'assigned_at']
        WHEN 'ticket_comments' THEN ARRAY['ticket_id', 'content', 'is_internal', 'created_at']
        WHEN 'ticket_attachments' THEN ARRAY['ticket_id', 'file_name', 'file_path', 'file_size', 'mime_type', 'uploaded_at']
        END
    WHEN 'update' THEN CASE p_table
        WHEN 'profiles' THEN ARRAY['full_name', 'avatar_url', 'role']
        WHEN 'products' THEN ARRAY['name', 'description', 'is_active']
        WHEN 'acquisition_stages' THEN ARRAY['order_index']
        WHEN 'customers' THEN ARRAY['name', 'email', 'phone', 'product_id', 'status', 'acquisition_stage', 'owner', 'is_archived']
        WHEN 'customer_interactions' THEN ARRAY['customer_id', 'type', 'channel', 'note', 'follow_up_date', 'follow_up_done_at']
        WHEN 'tickets' THEN ARRAY['title', 'description', 'priority', 'status', 'customer_id', 'assigned_to']
        WHEN 'ticket_assignees' THEN ARRAY['user_id']
        WHEN 'ticket_comments' THEN ARRAY['content', 'is_internal']
        WHEN 'ticket_attachments' THEN ARRAY['file_name', 'mime_type']
        END
    END
$$;

-- As sync.checked_columns, and each key writable by a client for p_op
-- ('insert' also takes the row's `id`, which clients choose).
CREATE FUNCTION sync.checked_columns(p_table regclass, p_values jsonb, p_op text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
DECLARE
    allowed text[] := sync.writable_columns(
        (SELECT c.relname::text FROM pg_class c WHERE c.oid = p_table), p_op);
    k text;
BEGIN
    IF allowed IS NULL THEN
        RAISE EXCEPTION 'table % takes no % from clients', p_table, p_op
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR k IN SELECT jsonb_object_keys(p_values) LOOP
        IF NOT (k = ANY (allowed) OR (p_op = 'insert' AND k = 'id')) THEN
            RAISE EXCEPTION '%.% cannot be written by a client', p_table, k
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    RETURN sync.checked_columns(p_table, p_values);
END
$$;

CREATE OR REPLACE FUNCTION sync.apply_insert(p_table text, p_id uuid, p_values jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $_$
DECLARE
    tbl regclass := sync.checked_table(p_table);
    vals jsonb := p_values || jsonb_build_object('id', p_id);
    cols text := sync.checked_columns(tbl, vals, 'insert');
BEGIN
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1)', tbl, cols, cols, tbl)
        USING vals;
END
$_$;

CREATE OR REPLACE FUNCTION sync.apply_inserts(p_table text, p_rows jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $_$
DECLARE
    tbl regclass := sync.checked_table(p_table);
    cols text := sync.checked_columns(tbl, p_rows -> 0, 'insert');
    -- jsonb keeps an object's keys in one canonical order, so equal key
    -- sets give equal arrays.
    keys text[] := ARRAY(SELECT jsonb_object_keys(p_rows -> 0));
BEGIN
    IF EXISTS (SELECT FROM jsonb_array_elements(p_rows) r
               WHERE ARRAY(SELECT jsonb_object_keys(r.value)) <> keys) THEN
        RAISE EXCEPTION 'the rows of one insert must name the same columns'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_recordset(NULL::%s, $1)',
                   tbl, cols, cols, tbl)
        USING p_rows;
END
$_$;

CREATE OR REPLACE FUNCTION sync.apply_update(p_table text, p_id uuid, p_values jsonb) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $_$
DECLARE
    tbl regclass := sync.checked_table(p_table);
    cols text := sync.checked_columns(tbl, p_values, 'update');
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
$_$;

REVOKE ALL ON FUNCTION sync.writable_columns(text, text), sync.checked_columns(regclass, jsonb, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sync.writable_columns(text, text), sync.checked_columns(regclass, jsonb, text)
    TO authenticated, service_role;
