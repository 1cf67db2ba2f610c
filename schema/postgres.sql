CREATE SCHEMA api;

CREATE SCHEMA auth;

CREATE SCHEMA crm_private;

CREATE SCHEMA storage;

CREATE SCHEMA sync;

CREATE TYPE public.acquisition_stage_enum AS ENUM (
    'lead',
    'qualified',
    'proposal',
    'negotiation',
    'closed_won',
    'closed_lost'
);

CREATE TYPE public.interaction_channel AS ENUM (
    'phone',
    'email',
    'meeting',
    'chat',
    'other'
);

CREATE TYPE public.ticket_priority AS ENUM (
    'low',
    'medium',
    'high',
    'urgent'
);

CREATE TYPE public.ticket_status AS ENUM (
    'open',
    'in_progress',
    'pending_customer',
    'resolved',
    'closed',
    'reopened'
);

CREATE TYPE public.user_role AS ENUM (
    'agent',
    'admin'
);

CREATE FUNCTION api.count_rows(p_table text, p_eq jsonb, p_min jsonb, p_max jsonb, p_null text[]) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $_$
DECLARE
    tbl regclass := sync.checked_table(p_table);
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %1$s t, jsonb_populate_record(NULL::%1$s, $1) eq,'
                   ' jsonb_populate_record(NULL::%1$s, $2) lo, jsonb_populate_record(NULL::%1$s, $3) hi WHERE true', tbl)
            || api.where_clause(tbl, p_eq, p_min, p_max, p_null)
        INTO n USING p_eq, p_min, p_max;
    RETURN n;
END
$_$;

CREATE FUNCTION api.get_row(p_table text, p_id uuid, p_lock boolean) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $_$
DECLARE
    result text;
BEGIN
    EXECUTE format('SELECT to_jsonb(t)::text FROM %s t WHERE t.id = $1', sync.checked_table(p_table))
            || CASE WHEN p_lock THEN ' FOR UPDATE' ELSE '' END
        INTO result USING p_id;
    RETURN result;
END
$_$;

CREATE FUNCTION api.get_rows(p_table text, p_ids uuid[]) RETURNS TABLE(id uuid, row_json text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $_$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT t.id, to_jsonb(t)::text FROM %s t WHERE t.id = ANY($1)',
        sync.checked_table(p_table))
        USING p_ids;
END
$_$;

CREATE FUNCTION api.list_rows(p_table text, p_eq jsonb, p_min jsonb, p_max jsonb, p_null text[], p_sort text, p_desc boolean, p_after jsonb, p_limit integer) RETURNS SETOF text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $_$
DECLARE
    tbl regclass := sync.checked_table(p_table);
    dir text := CASE WHEN p_desc THEN 'DESC' ELSE 'ASC' END;
    q text;
BEGIN
    PERFORM sync.checked_columns(tbl, jsonb_build_object(p_sort, NULL));
    -- The page is chosen first and only its rows are made JSON: making
    -- every matching row JSON before the sort cost ~20 ms a page.
    q := format('SELECT t.* FROM %1$s t, jsonb_populate_record(NULL::%1$s, $1) eq,'
                ' jsonb_populate_record(NULL::%1$s, $2) lo, jsonb_populate_record(NULL::%1$s, $3) hi,'
                ' jsonb_populate_record(NULL::%1$s, $4) aft WHERE true', tbl)
         || api.where_clause(tbl, p_eq, p_min, p_max, p_null);
    IF p_after IS NOT NULL THEN
        q := q || format(' AND (t.%1$I, t.id) %2$s (aft.%1$I, aft.id)', p_sort,
                         CASE WHEN p_desc THEN '<' ELSE '>' END);
    END IF;
    q := q || format(' ORDER BY t.%1$I %2$s, t.id %2$s LIMIT $5', p_sort, dir);
    q := format('SELECT to_jsonb(p)::text FROM (%s) p ORDER BY p.%I %s, p.id %s', q, p_sort, dir, dir);
    RETURN QUERY EXECUTE q USING p_eq, p_min, p_max, p_after, p_limit;
END
$_$;

CREATE FUNCTION api.notify_token_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    PERFORM pg_notify('crm_tokens', coalesce(NEW.id, OLD.id)::text);
    RETURN NULL;
END
$$;

CREATE FUNCTION api.record_webhook_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    types text[] := '{}';
    record uuid := NEW.id;
    changes jsonb;
    internal boolean := false;
BEGIN
    -- Nobody listening: nothing to do (the usual case costs one probe).
    IF NOT EXISTS (SELECT 1 FROM public.webhook_subscriptions WHERE is_active) THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'customers' THEN
        IF TG_OP = 'INSERT' THEN
            types := ARRAY['customer.created'];
        ELSE
            IF NEW.is_archived AND NOT OLD.is_archived THEN
                types := types || 'customer.archived'::text;
            END IF;
            IF (to_jsonb(NEW) - 'updated_at') <> (to_jsonb(OLD) - 'updated_at') THEN
                types := types || 'customer.updated'::text;
            END IF;
        END IF;
    ELSIF TG_TABLE_NAME = 'customer_interactions' THEN
        record := NEW.customer_id;
        IF TG_OP = 'INSERT' THEN
            types := ARRAY['interaction.logged'];
        END IF;
    ELSIF TG_TABLE_NAME = 'tickets' THEN
        IF TG_OP = 'INSERT' THEN
            types := ARRAY['ticket.created'];
        ELSE
            IF NEW.status IS DISTINCT FROM OLD.status THEN
                types := types || 'ticket.status_changed'::text;
                changes := jsonb_build_object('status', jsonb_build_object('from', OLD.status, 'to', NEW.status));
            END IF;
            IF NEW.assigned_to IS DISTINCT FROM OLD.assigned_to THEN
                types := types || 'ticket.assigned'::text;
                changes := coalesce(changes, '{}') || jsonb_build_object(
                    'assigned_to', jsonb_build_object('from', OLD.assigned_to, 'to', NEW.assigned_to));
            END IF;
            IF (to_jsonb(NEW) - 'updated_at') <> (to_jsonb(OLD) - 'updated_at') THEN
                types := types || 'ticket.updated'::text;
            END IF;
        END IF;
    ELSIF TG_TABLE_NAME = 'ticket_assignees' THEN
        record := NEW.ticket_id;
        IF TG_OP = 'INSERT' THEN
            types := ARRAY['ticket.assigned'];
        END IF;
    ELSIF TG_TABLE_NAME = 'ticket_comments' THEN
        record := NEW.ticket_id;
        internal := NEW.is_internal;
        IF TG_OP = 'INSERT' THEN
            types := ARRAY['comment.added'];
        END IF;
    END IF;
    IF cardinality(types) = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO api.webhook_deliveries
        (subscription_id, event_type, table_name, row_id, record_id, data, changes, internal)
    SELECT s.id, t, TG_TABLE_NAME, NEW.id, record, to_jsonb(NEW), changes, internal
    FROM public.webhook_subscriptions s, unnest(types) t
    WHERE s.is_active AND t = ANY (s.event_types) AND (NOT internal OR s.include_internal);
    IF FOUND THEN
        PERFORM pg_notify('crm_webhooks', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION api.take_from_bucket(p_key text, p_interval_ms double precision, p_burst integer, p_want integer) RETURNS TABLE(granted integer, remaining integer, retry_after_ms bigint)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
DECLARE
    now_ts timestamptz := clock_timestamp();
    step interval := make_interval(secs => p_interval_ms / 1000.0);
    tolerance interval := make_interval(secs => p_interval_ms * p_burst / 1000.0);
    next_tat timestamptz;
    n integer;
BEGIN
    INSERT INTO api.rate_buckets (key, tat) VALUES (p_key, now_ts) ON CONFLICT (key) DO NOTHING;
    SELECT b.tat INTO next_tat FROM api.rate_buckets b WHERE b.key = p_key FOR UPDATE;
    next_tat := greatest(next_tat, now_ts);
    -- How many fit: each moves tat one step; tat may run at most the
    -- tolerance ahead of now.
    n := least(p_want, floor(extract(epoch FROM (tolerance - (next_tat - now_ts))) * 1000.0 / p_interval_ms)::integer);
    IF n > 0 THEN
        next_tat := next_tat + step * n;
        UPDATE api.rate_buckets b SET tat = next_tat WHERE b.key = p_key;
        granted := n;
        retry_after_ms := 0;
    ELSE
        granted := 0;
        retry_after_ms := ceil(extract(epoch FROM ((next_tat + step) - tolerance - now_ts)) * 1000.0)::bigint;
    END IF;
    remaining := greatest(0, floor(extract(epoch FROM (tolerance - (next_tat - now_ts))) * 1000.0 / p_interval_ms)::integer);
    RETURN NEXT;
END
$$;

CREATE FUNCTION api.visible_ids(p_table text, p_ids uuid[]) RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $_$
BEGIN
    RETURN QUERY EXECUTE format('SELECT t.id FROM %s t WHERE t.id = ANY ($1)', sync.checked_table(p_table))
        USING p_ids;
END
$_$;

CREATE FUNCTION api.where_clause(p_table regclass, p_eq jsonb, p_min jsonb, p_max jsonb, p_null text[]) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $_$
DECLARE
    k text;
    clause text := '';
BEGIN
    PERFORM sync.checked_columns(p_table, p_eq || p_min || p_max
                                 || coalesce((SELECT jsonb_object_agg(c, NULL) FROM unnest(p_null) c), '{}'));
    FOR k IN SELECT jsonb_object_keys(p_eq) LOOP
        clause := clause || format(' AND t.%1$I = eq.%1$I', k);
    END LOOP;
    FOR k IN SELECT jsonb_object_keys(p_min) LOOP
        clause := clause || format(' AND t.%1$I >= lo.%1$I', k);
    END LOOP;
    FOR k IN SELECT jsonb_object_keys(p_max) LOOP
        clause := clause || format(' AND t.%1$I <= hi.%1$I', k);
    END LOOP;
    FOR k IN SELECT unnest(p_null) LOOP
        clause := clause || format(' AND t.%1$I IS NULL', k);
    END LOOP;
    RETURN clause;
END
$_$;

CREATE FUNCTION auth.integration_token_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN auth.jwt() OPERATOR(pg_catalog.->>) 'integration_token_id' OPERATOR(pg_catalog.<>) ''
                THEN (auth.jwt() OPERATOR(pg_catalog.->>) 'integration_token_id')::pg_catalog.uuid END
$$;

CREATE FUNCTION auth.jwt() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN pg_catalog.current_setting('request.jwt.claims', true) OPERATOR(pg_catalog.<>) ''
                THEN pg_catalog.current_setting('request.jwt.claims', true)::pg_catalog.jsonb END
$$;

CREATE FUNCTION auth.notify_session_end() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    PERFORM pg_notify('crm_sessions', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE FUNCTION auth.on_account_status() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    IF NEW.deactivated_at IS NOT NULL AND OLD.deactivated_at IS NULL THEN
        IF EXISTS (SELECT 1 FROM public.profiles WHERE id = NEW.id AND role = 'admin') THEN
            PERFORM pg_advisory_xact_lock(hashtext('crm.profiles.admin_demotion'));
            IF NOT crm_private.another_active_admin(NEW.id) THEN
                RAISE EXCEPTION 'the last active admin cannot be deactivated'
                    USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        UPDATE auth.sessions
           SET ended_at = now(), end_reason = 'deactivated', ended_by = NEW.status_changed_by
         WHERE user_id = NEW.id AND ended_at IS NULL;
    END IF;
    INSERT INTO public.audit_history (table_name, record_id, action, old_values, new_values, changed_by)
    VALUES ('auth.users', NEW.id, 'UPDATE',
            jsonb_build_object('deactivated_at', OLD.deactivated_at),
            jsonb_build_object('deactivated_at', NEW.deactivated_at),
            NEW.status_changed_by);
    -- Integration tokens act for their owner: every process checks its
    -- known tokens' owners again.
    PERFORM pg_notify('crm_tokens', '');
    RETURN NEW;
END
$$;

CREATE FUNCTION auth.role() RETURNS text
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN auth.jwt() OPERATOR(pg_catalog.->>) 'role' OPERATOR(pg_catalog.<>) ''
                THEN auth.jwt() OPERATOR(pg_catalog.->>) 'role' END
$$;

CREATE FUNCTION auth.uid() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN auth.jwt() OPERATOR(pg_catalog.->>) 'sub' OPERATOR(pg_catalog.<>) ''
                THEN (auth.jwt() OPERATOR(pg_catalog.->>) 'sub')::pg_catalog.uuid END
$$;

CREATE FUNCTION crm_private.another_active_admin(other uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.profiles p JOIN auth.users u ON u.id = p.id
        WHERE p.role = 'admin' AND p.id <> other AND u.deactivated_at IS NULL)
$$;

CREATE FUNCTION public.audit_deleted_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    seqs jsonb := nullif(current_setting('crm.client_seqs', true), '')::jsonb;
    seq bigint := nullif(current_setting('crm.client_seq', true), '')::bigint;
BEGIN
    INSERT INTO public.audit_history
        (table_name, record_id, action, old_values, new_values, changed_by, integration_token_id,
         client_id, client_seq)
    SELECT TG_TABLE_NAME, r.id, 'DELETE', to_jsonb(r) - 'token_hash' - 'previous_hash', NULL,
           nullif(claims ->> 'sub', '')::uuid, nullif(claims ->> 'integration_token_id', '')::uuid,
           nullif(current_setting('crm.client_id', true), '')::uuid,
           coalesce((seqs ->> r.id::text)::bigint, seq)
    FROM old_rows r;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.audit_inserted_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    seqs jsonb := nullif(current_setting('crm.client_seqs', true), '')::jsonb;
    seq bigint := nullif(current_setting('crm.client_seq', true), '')::bigint;
BEGIN
    INSERT INTO public.audit_history
        (table_name, record_id, action, old_values, new_values, changed_by, integration_token_id,
         client_id, client_seq)
    SELECT TG_TABLE_NAME, r.id, 'INSERT', NULL, to_jsonb(r) - 'token_hash' - 'previous_hash',
           nullif(claims ->> 'sub', '')::uuid, nullif(claims ->> 'integration_token_id', '')::uuid,
           nullif(current_setting('crm.client_id', true), '')::uuid,
           coalesce((seqs ->> r.id::text)::bigint, seq)
    FROM new_rows r;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.audit_updated_row() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    old_row jsonb := to_jsonb(OLD) - 'token_hash' - 'previous_hash';
    new_row jsonb := to_jsonb(NEW) - 'token_hash' - 'previous_hash';
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

CREATE FUNCTION public.can_access_customer(p_customer_id uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RETURN public.is_admin()
        OR EXISTS (SELECT 1 FROM public.customers c
                   WHERE c.id = p_customer_id AND c.owner = auth.uid());
END
$$;

CREATE FUNCTION public.can_access_ticket(p_ticket_id uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RETURN auth.uid() IS NOT NULL AND EXISTS (
        SELECT 1 FROM public.tickets t
        WHERE t.id = p_ticket_id
          AND (public.is_admin()
               OR t.created_by = auth.uid()
               OR t.assigned_to = auth.uid()
               OR public.is_ticket_assignee(t.id)));
END
$$;

CREATE FUNCTION public.check_ticket_customer_access() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    IF NEW.customer_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.customer_id IS DISTINCT FROM OLD.customer_id)
       AND NOT public.is_privileged_session()
       AND NOT public.can_access_customer(NEW.customer_id) THEN
        RAISE EXCEPTION 'you cannot link a ticket to a customer you do not manage'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION public.clamp_creation_time() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    -- TG_ARGV[0] names the column; one function for the three spellings.
    CASE TG_ARGV[0]
        WHEN 'created_at' THEN
            NEW.created_at := LEAST(NEW.created_at, now());
        WHEN 'assigned_at' THEN
            NEW.assigned_at := LEAST(NEW.assigned_at, now());
        WHEN 'uploaded_at' THEN
            NEW.uploaded_at := LEAST(NEW.uploaded_at, now());
    END CASE;
    RETURN NEW;
END
$$;

CREATE FUNCTION public.clamp_follow_up_done() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    -- LEAST ignores NULLs: "not done" must stay NULL.
    IF NEW.follow_up_done_at IS NOT NULL THEN
        NEW.follow_up_done_at := LEAST(NEW.follow_up_done_at, now());
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION public.colleague_name(p_user_id uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT p.full_name FROM public.profiles p
    WHERE p.id = p_user_id AND auth.uid() IS NOT NULL
$$;

CREATE FUNCTION public.current_user_role() RETURNS public.user_role
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RETURN (SELECT role FROM public.profiles WHERE id = auth.uid());
END
$$;

CREATE FUNCTION public.delete_attachment_objects() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    PERFORM set_config('crm.deleting_attachment', 'on', true);
    DELETE FROM storage.objects o
     USING deleted d
     WHERE o.bucket_id = 'ticket-attachments' AND o.name = d.file_path;
    PERFORM set_config('crm.deleting_attachment', '', true);
    RETURN NULL;
END
$$;

CREATE FUNCTION public.enforce_attachment_has_file() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
DECLARE
    o record;
BEGIN
    SELECT size, mime_type INTO o FROM storage.objects
     WHERE bucket_id = 'ticket-attachments' AND name = NEW.file_path;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the file % has not been uploaded; upload it before its attachment', NEW.file_name
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ticket_attachments_file_path_uploaded';
    END IF;
    IF o.size <> NEW.file_size OR o.mime_type <> NEW.mime_type THEN
        RAISE EXCEPTION 'the attachment says % bytes of %, but the uploaded file is % bytes of %',
            NEW.file_size, NEW.mime_type, o.size, o.mime_type
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ticket_attachments_file_path_uploaded';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION public.enforce_immutable_columns() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
DECLARE
    col text;
    old_row jsonb := to_jsonb(OLD);
    new_row jsonb := to_jsonb(NEW);
BEGIN
    FOREACH col IN ARRAY TG_ARGV LOOP
        IF old_row -> col IS DISTINCT FROM new_row -> col THEN
            RAISE EXCEPTION '%.% cannot be changed', TG_TABLE_NAME, col
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;

CREATE FUNCTION public.enforce_max_active_products() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    active_count bigint;
BEGIN
    IF NEW.is_active AND (TG_OP = 'INSERT' OR NOT OLD.is_active) THEN
        UPDATE crm_private.product_activation_guard SET activations = activations + 1;
        SELECT count(*) INTO active_count
        FROM public.products
        WHERE is_active AND id <> NEW.id;
        IF active_count >= 3 THEN
            RAISE EXCEPTION 'at most 3 products can be active at once; deactivate one first'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION public.get_colleagues() RETURNS TABLE(id uuid, full_name text, avatar_url text, role public.user_role)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT p.id, p.full_name, p.avatar_url, p.role
    FROM public.profiles p
    WHERE auth.uid() IS NOT NULL
    ORDER BY p.full_name NULLS LAST, p.id
$$;

CREATE FUNCTION public.get_customer_stats() RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT jsonb_build_object(
        'total', count(*),
        'active', count(*) FILTER (WHERE NOT c.is_archived),
        'archived', count(*) FILTER (WHERE c.is_archived),
        'new_last_30_days', count(*) FILTER (WHERE c.created_at >= now() - interval '30 days'),
        'by_stage', (
            SELECT jsonb_object_agg(s::text, (SELECT count(*) FROM public.customers x
                                              WHERE x.acquisition_stage = s AND NOT x.is_archived))
            FROM unnest(enum_range(NULL::public.acquisition_stage_enum)) s),
        'by_status', jsonb_build_object(
            'active', count(*) FILTER (WHERE c.status = 'active' AND NOT c.is_archived),
            'inactive', count(*) FILTER (WHERE c.status = 'inactive' AND NOT c.is_archived),
            'churned', count(*) FILTER (WHERE c.status = 'churned' AND NOT c.is_archived)))
    FROM public.customers c
$$;

CREATE FUNCTION public.get_dashboard_data() RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT jsonb_build_object(
        'customers', public.get_customer_stats(),
        'tickets', public.get_ticket_stats(),
        'my_open_tickets', (
            SELECT count(*) FROM public.tickets t
            WHERE t.status NOT IN ('resolved', 'closed')
              AND (t.assigned_to = auth.uid() OR public.is_ticket_assignee(t.id))),
        'follow_ups_overdue', (
            SELECT count(*) FROM public.customer_interactions i
            WHERE i.follow_up_date < now() AND i.follow_up_done_at IS NULL),
        'follow_ups_next_7_days', (
            SELECT count(*) FROM public.customer_interactions i
            WHERE i.follow_up_date >= now() AND i.follow_up_date < now() + interval '7 days'
              AND i.follow_up_done_at IS NULL),
        'interactions_last_7_days', (
            SELECT count(*) FROM public.customer_interactions i
            WHERE i.created_at >= now() - interval '7 days'),
        'generated_at', now())
$$;

CREATE FUNCTION public.get_ticket_attachment_url(p_attachment_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    path text;
BEGIN
    SELECT a.file_path INTO path FROM public.ticket_attachments a WHERE a.id = p_attachment_id;
    IF path IS NULL THEN
        RAISE EXCEPTION 'attachment % not found', p_attachment_id
            USING ERRCODE = 'no_data_found';
    END IF;
    RETURN 'ticket-attachments/' || path;
END
$$;

CREATE FUNCTION public.get_ticket_stats() RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT jsonb_build_object(
        'total', count(*),
        'open', count(*) FILTER (WHERE t.status NOT IN ('resolved', 'closed')),
        'urgent_open', count(*) FILTER (WHERE t.priority = 'urgent' AND t.status NOT IN ('resolved', 'closed')),
        'resolved_last_7_days', count(*) FILTER (WHERE t.resolved_at >= now() - interval '7 days'),
        'avg_resolution_hours', round((avg(extract(epoch FROM t.resolved_at - t.created_at))
                                      FILTER (WHERE t.resolved_at IS NOT NULL) / 3600)::numeric, 2),
        'by_status', (
            SELECT jsonb_object_agg(s::text, (SELECT count(*) FROM public.tickets x WHERE x.status = s))
            FROM unnest(enum_range(NULL::public.ticket_status)) s),
        'by_priority', (
            SELECT jsonb_object_agg(p::text, (SELECT count(*) FROM public.tickets x
                                              WHERE x.priority = p AND x.status NOT IN ('resolved', 'closed')))
            FROM unnest(enum_range(NULL::public.ticket_priority)) p))
    FROM public.tickets t
$$;

CREATE FUNCTION public.handle_new_user() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    INSERT INTO public.profiles (id, email, full_name, avatar_url, role)
    VALUES (NEW.id, NEW.email,
            nullif(btrim(NEW.raw_user_meta_data ->> 'full_name'), ''),
            nullif(btrim(NEW.raw_user_meta_data ->> 'avatar_url'), ''),
            'agent');
    RETURN NULL;
END
$$;

CREATE FUNCTION public.handle_user_email_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    UPDATE public.profiles SET email = NEW.email WHERE id = NEW.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.integration_token_allows(p_token_id uuid, p_permission text) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM public.integration_tokens t
        WHERE t.id = p_token_id
          AND t.is_active
          AND t.expires_at > now()
          AND t.created_by = auth.uid()
          AND p_permission = ANY (t.permissions));
END
$$;

CREATE FUNCTION public.is_admin() RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RETURN coalesce(
        (SELECT role = 'admin' FROM public.profiles WHERE id = auth.uid()), false);
END
$$;

CREATE FUNCTION public.is_blank(p text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $$
    SELECT p !~ '[^\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]'
$$;

CREATE FUNCTION public.is_personal_session() RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    RETURN auth.uid() IS NOT NULL AND auth.integration_token_id() IS NULL;
END
$$;

CREATE FUNCTION public.is_privileged_session() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog'
    AS $$
    SELECT coalesce((SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user), false)
$$;

CREATE FUNCTION public.is_ticket_assignee(p_ticket_id uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM public.ticket_assignees a
                   WHERE a.ticket_id = p_ticket_id AND a.user_id = auth.uid());
END
$$;

CREATE FUNCTION public.is_valid_email(p text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $_$
    SELECT length(p) <= 254
       AND p ~ '^[^@\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+@[^@\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+\.[^@\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$'
$_$;

CREATE FUNCTION public.log_ticket_status_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    IF TG_WHEN = 'BEFORE' THEN
        IF TG_OP = 'INSERT' THEN
            IF NEW.status <> 'open' THEN
                RAISE EXCEPTION 'a new ticket starts open, not %', NEW.status
                    USING ERRCODE = 'check_violation';
            END IF;
            NEW.resolved_at := NULL;
            NEW.closed_at := NULL;
        ELSIF NEW.status = OLD.status THEN
            NEW.resolved_at := OLD.resolved_at;
            NEW.closed_at := OLD.closed_at;
        ELSE
            IF NOT public.ticket_status_transition_allowed(OLD.status, NEW.status) THEN
                RAISE EXCEPTION 'cannot move a ticket from % to %', OLD.status, NEW.status
                    USING ERRCODE = 'check_violation',
                          HINT = 'allowed: ' || coalesce((
                              SELECT string_agg(s::text, ', ' ORDER BY s)
                              FROM unnest(enum_range(NULL::public.ticket_status)) s
                              WHERE public.ticket_status_transition_allowed(OLD.status, s)), 'none');
            END IF;
            CASE NEW.status
                WHEN 'resolved' THEN
                    NEW.resolved_at := now();
                    NEW.closed_at := NULL;
                WHEN 'closed' THEN
                    NEW.resolved_at := OLD.resolved_at;
                    NEW.closed_at := now();
                ELSE
                    -- Reopened or back to work: the old stamps no longer hold.
                    NEW.resolved_at := NULL;
                    NEW.closed_at := NULL;
            END CASE;
        END IF;
        RETURN NEW;
    END IF;

    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO public.ticket_workflow_history (ticket_id, from_status, to_status, changed_by, note)
        VALUES (NEW.id,
                CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
                NEW.status,
                auth.uid(),
                nullif(current_setting('crm.status_note', true), ''));
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.next_ticket_lead(p_ticket uuid, p_without uuid) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    SELECT a.user_id FROM public.ticket_assignees a
    WHERE a.ticket_id = p_ticket AND a.user_id IS DISTINCT FROM p_without
    ORDER BY a.assigned_at, a.id
    LIMIT 1
$$;

CREATE FUNCTION public.protect_last_admin() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    IF OLD.role = 'admin' THEN
        PERFORM pg_advisory_xact_lock(hashtext('crm.profiles.admin_demotion'));
        IF NOT crm_private.another_active_admin(OLD.id) THEN
            RAISE EXCEPTION 'the last admin cannot be removed'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN OLD;
END
$$;

CREATE FUNCTION public.protect_profile_columns() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    IF NOT public.is_privileged_session() AND NOT public.is_admin() THEN
        IF NEW.role IS DISTINCT FROM OLD.role THEN
            RAISE EXCEPTION 'only an admin can change a role'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.email IS DISTINCT FROM OLD.email THEN
            RAISE EXCEPTION 'the email of a profile follows its account and cannot be changed here'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF OLD.role = 'admin' AND NEW.role <> 'admin' THEN
        -- Serialise demotions (and deactivations) so that two admins
        -- demoting each other at once cannot leave the team without one.
        PERFORM pg_advisory_xact_lock(hashtext('crm.profiles.admin_demotion'));
        IF NOT crm_private.another_active_admin(OLD.id) THEN
            RAISE EXCEPTION 'the last admin cannot stop being one'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION public.ticket_lead_is_assignee() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    IF NEW.assigned_to IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.assigned_to IS DISTINCT FROM OLD.assigned_to) THEN
        INSERT INTO public.ticket_assignees (ticket_id, user_id, assigned_at, assigned_by)
        VALUES (NEW.id, NEW.assigned_to, now(), COALESCE(auth.uid(), NEW.created_by))
        ON CONFLICT (ticket_id, user_id) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.ticket_lead_kept() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    IF NEW.assigned_to IS NULL AND OLD.assigned_to IS NOT NULL THEN
        NEW.assigned_to := public.next_ticket_lead(NEW.id, OLD.assigned_to);
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION public.ticket_lead_on_assign() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    UPDATE public.tickets SET assigned_to = NEW.user_id
    WHERE id = NEW.ticket_id AND assigned_to IS NULL;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.ticket_lead_on_reassign() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    UPDATE public.tickets SET assigned_to = NEW.user_id
    WHERE id = NEW.ticket_id AND assigned_to = OLD.user_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.ticket_lead_on_unassign() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    UPDATE public.tickets SET assigned_to = NULL
    WHERE id = OLD.ticket_id AND assigned_to = OLD.user_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.ticket_status_transition_allowed(p_from public.ticket_status, p_to public.ticket_status) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT (p_from, p_to) IN (
        ('open', 'in_progress'), ('open', 'pending_customer'), ('open', 'resolved'), ('open', 'closed'),
        ('in_progress', 'pending_customer'), ('in_progress', 'resolved'), ('in_progress', 'closed'),
        ('pending_customer', 'in_progress'), ('pending_customer', 'resolved'), ('pending_customer', 'closed'),
        ('resolved', 'closed'), ('resolved', 'reopened'),
        ('closed', 'reopened'),
        ('reopened', 'in_progress'), ('reopened', 'pending_customer'), ('reopened', 'resolved'), ('reopened', 'closed')
    )::boolean
$$;

CREATE FUNCTION public.token_permits(p_permission text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    token uuid := auth.integration_token_id();
BEGIN
    RETURN token IS NULL OR public.integration_token_allows(token, p_permission);
END
$$;

CREATE FUNCTION public.update_updated_at_column() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE FUNCTION public.uuid_generate_v7() RETURNS uuid
    LANGUAGE sql PARALLEL SAFE
    AS $$
    SELECT pg_catalog.encode(
        pg_catalog.set_bit(pg_catalog.set_bit(
            overlay(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
                    PLACING substring(pg_catalog.int8send(
                        (extract(epoch FROM pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000)::bigint)
                        FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::pg_catalog.uuid
$$;

CREATE FUNCTION public.validate_integration_token_permissions() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    me uuid := auth.uid();
BEGIN
    NEW.permissions := ARRAY(SELECT DISTINCT p FROM unnest(NEW.permissions) p WHERE p IS NOT NULL ORDER BY p);
    IF cardinality(NEW.permissions) = 0 THEN
        RAISE EXCEPTION 'an integration token needs at least one permission'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'integration_tokens_permissions_check';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NOT NEW.is_active OR NEW.revoked_at IS NOT NULL OR NEW.use_count <> 0
           OR NEW.last_used_at IS NOT NULL OR NEW.previous_hash IS NOT NULL THEN
            RAISE EXCEPTION 'a new integration token starts active and unused'
                USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        -- Usage counts are the server's bookkeeping, whatever the token's state.
        IF (to_jsonb(NEW) - 'last_used_at' - 'use_count') = (to_jsonb(OLD) - 'last_used_at' - 'use_count') THEN
            RETURN NEW;
        END IF;
        -- Dead stays dead: a revoked token takes no change at all, an
        -- expired one only its revocation.
        IF NOT OLD.is_active THEN
            RAISE EXCEPTION 'this integration token has been revoked'
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF OLD.expires_at <= now()
           AND (NEW.token_hash <> OLD.token_hash OR NEW.expires_at <> OLD.expires_at
                OR NEW.name <> OLD.name OR NEW.previous_hash IS DISTINCT FROM OLD.previous_hash) THEN
            RAISE EXCEPTION 'this integration token has expired; make a new one'
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        -- Someone else's token (an admin's reach): revoking only.
        IF me IS NOT NULL AND me <> OLD.created_by
           AND (NEW.is_active OR NEW.name <> OLD.name OR NEW.token_hash <> OLD.token_hash
                OR NEW.expires_at <> OLD.expires_at
                OR NEW.previous_hash IS DISTINCT FROM OLD.previous_hash) THEN
            RAISE EXCEPTION 'only its owner may change an integration token; you may revoke it'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NOT NEW.is_active THEN
            NEW.revoked_at := coalesce(NEW.revoked_at, now());
            NEW.revoked_by := coalesce(NEW.revoked_by, me);
            -- The old secret dies with the token.
            NEW.previous_hash := NULL;
            NEW.previous_valid_until := NULL;
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.expires_at <> OLD.expires_at THEN
        IF NEW.expires_at <= now() THEN
            RAISE EXCEPTION 'an integration token cannot expire in the past'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'integration_tokens_expires_at_check';
        END IF;
        IF NEW.expires_at > now() + interval '1 year' + interval '1 minute' THEN
            RAISE EXCEPTION 'an integration token lives at most a year'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'integration_tokens_expires_at_check';
        END IF;
    END IF;
    IF NEW.previous_valid_until > now() + interval '7 days' + interval '1 minute' THEN
        RAISE EXCEPTION 'a rotated secret stays valid at most a week'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'integration_tokens_previous_valid_until_check';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION storage.enforce_bucket_rules() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
DECLARE
    b storage.buckets;
BEGIN
    SELECT * INTO b FROM storage.buckets WHERE id = NEW.bucket_id;
    IF b.file_size_limit IS NOT NULL AND NEW.size > b.file_size_limit THEN
        RAISE EXCEPTION 'file is % bytes; bucket % takes at most % bytes', NEW.size, b.id, b.file_size_limit
            USING ERRCODE = 'check_violation';
    END IF;
    IF b.allowed_mime_types IS NOT NULL AND NOT (NEW.mime_type = ANY (b.allowed_mime_types)) THEN
        RAISE EXCEPTION 'bucket % does not take files of type %', b.id, NEW.mime_type
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.bucket_id = 'ticket-attachments' AND storage.ticket_id_of(NEW.name) IS NULL THEN
        RAISE EXCEPTION 'a ticket attachment is stored at {ticket_id}/{filename}, not at %', NEW.name
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION storage.filename(p_name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $$
    SELECT (string_to_array(p_name, '/'))[cardinality(string_to_array(p_name, '/'))]
$$;

CREATE FUNCTION storage.foldername(p_name text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $$
    SELECT (string_to_array(p_name, '/'))[1:cardinality(string_to_array(p_name, '/')) - 1]
$$;

CREATE FUNCTION storage.protect_attached_objects() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    IF OLD.bucket_id = 'ticket-attachments'
       AND coalesce(current_setting('crm.deleting_attachment', true), '') <> 'on'
       AND EXISTS (SELECT 1 FROM public.ticket_attachments a WHERE a.file_path = OLD.name) THEN
        RAISE EXCEPTION 'the file % belongs to an attachment; delete the attachment', OLD.name
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END
$$;

CREATE FUNCTION storage.ticket_id_of(p_name text) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $_$
    SELECT CASE
        WHEN p_name ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/[^/]+$'
             AND storage.filename(p_name) NOT IN ('.', '..')
        THEN split_part(p_name, '/', 1)::uuid
    END
$_$;

CREATE FUNCTION sync.apply_delete(p_table text, p_id uuid) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $_$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('DELETE FROM %s t WHERE t.id = $1', sync.checked_table(p_table)) USING p_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n = 1;
END
$_$;

CREATE FUNCTION sync.apply_group(p_table text, p_op text, p_rows jsonb, p_seqs jsonb) RETURNS TABLE(seq bigint, err_code text, err_message text, err_constraint text, err_column text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
DECLARE
    n int := jsonb_array_length(p_rows);
    r jsonb;
    together boolean := false;
BEGIN
    IF p_op = 'insert' AND n > 1 THEN
        BEGIN
            -- Each row's number comes from the map; nothing may take a
            -- single number left over from an earlier mutation.
            PERFORM set_config('crm.client_seq', '', true);
            PERFORM set_config('crm.client_seqs', p_seqs::text, true);
            PERFORM sync.apply_inserts(p_table, p_rows);
            PERFORM set_config('crm.client_seqs', '', true);
            together := true;
        EXCEPTION WHEN OTHERS THEN
            -- At least one row was refused; the statement (and the
            -- settings) rolled back whole.
            together := false;
        END;
        IF together THEN
            RETURN QUERY SELECT (p_seqs ->> (x ->> 'id'))::bigint, NULL::text, NULL::text,
                                NULL::text, NULL::text
                         FROM jsonb_array_elements(p_rows) x;
            RETURN;
        END IF;
        IF n > 8 THEN
            RETURN QUERY SELECT * FROM sync.apply_group(p_table, p_op,
                (SELECT jsonb_agg(x.value ORDER BY x.i) FROM jsonb_array_elements(p_rows) WITH ORDINALITY x(value, i)
                 WHERE x.i <= n / 2), p_seqs);
            RETURN QUERY SELECT * FROM sync.apply_group(p_table, p_op,
                (SELECT jsonb_agg(x.value ORDER BY x.i) FROM jsonb_array_elements(p_rows) WITH ORDINALITY x(value, i)
                 WHERE x.i > n / 2), p_seqs);
            RETURN;
        END IF;
    END IF;
    FOR r IN SELECT value FROM jsonb_array_elements(p_rows) LOOP
        seq := (p_seqs ->> (r ->> 'id'))::bigint;
        err_code := NULL;
        err_message := NULL;
        err_constraint := NULL;
        err_column := NULL;
        BEGIN
            PERFORM set_config('crm.client_seq', seq::text, true);
            IF p_op = 'insert' THEN
                PERFORM sync.apply_insert(p_table, (r ->> 'id')::uuid, r - 'id');
            ELSIF NOT sync.apply_delete(p_table, (r ->> 'id')::uuid) THEN
                err_code := 'P0002';
                err_message := 'not found';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_code = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                    err_constraint = CONSTRAINT_NAME, err_column = COLUMN_NAME;
            err_constraint := nullif(err_constraint, '');
            err_column := nullif(err_column, '');
        END;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE FUNCTION sync.apply_insert(p_table text, p_id uuid, p_values jsonb) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
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

CREATE FUNCTION sync.apply_inserts(p_table text, p_rows jsonb) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
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

CREATE FUNCTION sync.apply_run(p_groups jsonb) RETURNS TABLE(seq bigint, err_code text, err_message text, err_constraint text, err_column text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
DECLARE
    g jsonb;
    n int;
BEGIN
    -- In order: a later group may refer to rows an earlier one inserted.
    FOR g IN SELECT value FROM jsonb_array_elements(p_groups) LOOP
        n := jsonb_array_length(g -> 'rows');
        -- n distinct row ids, each with a number, and no other numbers.
        IF (SELECT count(DISTINCT x ->> 'id') FILTER (WHERE (g -> 'seqs') ? (x ->> 'id'))
            FROM jsonb_array_elements(g -> 'rows') x) <> n
           OR (SELECT count(*) FROM jsonb_object_keys(g -> 'seqs')) <> n THEN
            RAISE EXCEPTION 'a group needs distinct row ids and one sequence number for each'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN QUERY SELECT * FROM sync.apply_group(g ->> 'table', g ->> 'op', g -> 'rows', g -> 'seqs');
    END LOOP;
END
$$;

CREATE FUNCTION sync.apply_update(p_table text, p_id uuid, p_values jsonb) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
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

CREATE FUNCTION sync.checked_columns(p_table regclass, p_values jsonb) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
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

CREATE FUNCTION sync.checked_columns(p_table regclass, p_values jsonb, p_op text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
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

CREATE FUNCTION sync.checked_table(p_table text) RETURNS regclass
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
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

CREATE FUNCTION sync.checksum(p_table text) RETURNS TABLE(row_count bigint, fingerprint_sum numeric)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $_$
DECLARE
    rel regclass := sync.pulled_table(p_table);
    -- A fragment of constant SQL, never input: the row's stamp, or ''.
    stamp text := quote_literal('');
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = rel AND attname = 'updated_at' AND attnum > 0 AND NOT attisdropped) THEN
        stamp := $s$coalesce(to_jsonb(t.updated_at) #>> '{}', '')$s$;
    END IF;
    RETURN QUERY EXECUTE format(
        $q$SELECT count(*), coalesce(sum(('x' || substr(md5(t.id::text || '|' || %s), 1, 15))::bit(60)::bigint), 0)
           FROM %s t$q$, stamp, rel);
END
$_$;

CREATE FUNCTION sync.current_row(p_table text, p_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $_$
DECLARE
    result jsonb;
BEGIN
    EXECUTE format('SELECT to_jsonb(t) FROM %s t WHERE t.id = $1 FOR UPDATE', sync.checked_table(p_table))
        INTO result USING p_id;
    RETURN result;
END
$_$;

CREATE FUNCTION sync.cursor_expired(since pg_snapshot) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    SELECT EXISTS (
        SELECT 1 FROM sync.log_horizon h
        WHERE h.pruned_through >= pg_snapshot_xmin(since)
    )
$$;

CREATE FUNCTION sync.log_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
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

CREATE FUNCTION sync.log_deleted_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
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

CREATE FUNCTION sync.log_inserted_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
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

CREATE FUNCTION sync.log_ticket_scope(p_ticket uuid) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    INSERT INTO sync.changes (table_name, row_id, op)
    SELECT 'tickets', p_ticket, 'scope'
    UNION ALL SELECT 'ticket_comments', c.id, 'scope' FROM public.ticket_comments c WHERE c.ticket_id = p_ticket
    UNION ALL SELECT 'ticket_workflow_history', h.id, 'scope' FROM public.ticket_workflow_history h WHERE h.ticket_id = p_ticket
    UNION ALL SELECT 'ticket_attachments', a.id, 'scope' FROM public.ticket_attachments a WHERE a.ticket_id = p_ticket
    UNION ALL SELECT 'ticket_assignees', s.id, 'scope' FROM public.ticket_assignees s WHERE s.ticket_id = p_ticket
$$;

CREATE FUNCTION sync."normalize"(p_table text, p_values jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $_$
DECLARE
    tbl regclass := sync.checked_table(p_table);
    full_row jsonb;
BEGIN
    PERFORM sync.checked_columns(tbl, p_values);
    EXECUTE format('SELECT to_jsonb(jsonb_populate_record(NULL::%s, $1))', tbl) INTO full_row USING p_values;
    RETURN (SELECT coalesce(jsonb_object_agg(key, full_row -> key), '{}'::jsonb)
            FROM jsonb_object_keys(p_values) key);
END
$_$;

CREATE FUNCTION sync.notify_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
BEGIN
    PERFORM pg_notify('crm_sync_changes', '');
    RETURN NULL;
END
$$;

CREATE FUNCTION sync.prune_bookkeeping(keep interval) RETURNS TABLE(outcomes bigint, clocks bigint, conflicts bigint, clients bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $_$
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
$_$;

CREATE FUNCTION sync.prune_changes(keep interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
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

CREATE FUNCTION sync.pulled_table(p_table text) RETURNS regclass
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
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

CREATE FUNCTION sync.pulled_tables() RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog'
    AS $$
    SELECT array_agg(name ORDER BY load_order) FROM sync.synced_tables
$$;

CREATE FUNCTION sync.rows_by_id(p_table text, p_ids uuid[]) RETURNS TABLE(id uuid, row_data json)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $_$
BEGIN
    RETURN QUERY EXECUTE format('SELECT t.id, row_to_json(t) FROM %s t WHERE t.id = ANY ($1)', sync.pulled_table(p_table))
        USING p_ids;
END
$_$;

CREATE FUNCTION sync.rows_page(p_table text, p_after uuid, p_limit integer) RETURNS TABLE(id uuid, row_data json)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $_$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT t.id, row_to_json(t) FROM %s t WHERE $1 IS NULL OR t.id > $1 ORDER BY t.id LIMIT $2',
        sync.pulled_table(p_table))
        USING p_after, p_limit;
END
$_$;

CREATE FUNCTION sync.visible_count(p_table text) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', sync.pulled_table(p_table)) INTO n;
    RETURN n;
END
$$;

CREATE FUNCTION sync.writable_columns(p_table text, p_op text) RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $$
    SELECT CASE p_op WHEN 'insert' THEN insertable WHEN 'update' THEN updatable END
    FROM sync.synced_tables WHERE name = p_table
$$;

CREATE TABLE api.idempotency_keys (
    token_id uuid NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    status smallint NOT NULL,
    headers jsonb DEFAULT '{}'::jsonb NOT NULL,
    body text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT idempotency_keys_fingerprint_check CHECK ((fingerprint ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT idempotency_keys_key_check CHECK (((length(key) >= 1) AND (length(key) <= 255))),
    CONSTRAINT idempotency_keys_status_check CHECK (((status >= 200) AND (status <= 499)))
);

ALTER TABLE ONLY api.idempotency_keys FORCE ROW LEVEL SECURITY;

CREATE TABLE api.rate_buckets (
    key text NOT NULL,
    tat timestamp with time zone NOT NULL,
    CONSTRAINT rate_buckets_key_check CHECK ((length(key) <= 200))
);

ALTER TABLE ONLY api.rate_buckets FORCE ROW LEVEL SECURITY;

CREATE TABLE api.webhook_deliveries (
    id bigint NOT NULL,
    subscription_id uuid NOT NULL,
    event_type text NOT NULL,
    table_name text,
    row_id uuid,
    record_id uuid NOT NULL,
    data jsonb NOT NULL,
    changes jsonb,
    internal boolean DEFAULT false NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    queued_at timestamp with time zone DEFAULT now() NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    locked_until timestamp with time zone,
    last_status integer,
    last_error text,
    delivered_at timestamp with time zone,
    CONSTRAINT webhook_deliveries_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text, 'skipped'::text])))
);

ALTER TABLE ONLY api.webhook_deliveries FORCE ROW LEVEL SECURITY;

ALTER TABLE api.webhook_deliveries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME api.webhook_deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE api.webhook_secrets (
    subscription_id uuid NOT NULL,
    secret text NOT NULL,
    CONSTRAINT webhook_secrets_secret_check CHECK ((secret ~ '^whsec_[A-Za-z0-9+/=]{32,}$'::text))
);

ALTER TABLE ONLY api.webhook_secrets FORCE ROW LEVEL SECURITY;

CREATE SEQUENCE api.write_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE auth.access_policy (
    id uuid DEFAULT '00000000-0000-0000-0000-000000000001'::uuid NOT NULL,
    offline_grace_days integer DEFAULT 14 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_by uuid,
    CONSTRAINT access_policy_id_check CHECK ((id = '00000000-0000-0000-0000-000000000001'::uuid)),
    CONSTRAINT access_policy_offline_grace_days_check CHECK (((offline_grace_days >= 1) AND (offline_grace_days <= 365)))
);

ALTER TABLE ONLY auth.access_policy FORCE ROW LEVEL SECURITY;

CREATE TABLE auth.login_attempts (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    email text NOT NULL,
    address inet,
    succeeded boolean,
    attempted_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY auth.login_attempts FORCE ROW LEVEL SECURITY;

CREATE TABLE auth.password_reset_codes (
    user_id uuid NOT NULL,
    code_hash bytea NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    failures integer DEFAULT 0 NOT NULL,
    CONSTRAINT password_reset_codes_code_hash_check CHECK ((octet_length(code_hash) = 32))
);

ALTER TABLE ONLY auth.password_reset_codes FORCE ROW LEVEL SECURITY;

CREATE TABLE auth.refresh_tokens (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    user_id uuid NOT NULL,
    family_id uuid NOT NULL,
    parent_id uuid,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT refresh_tokens_token_hash_check CHECK ((octet_length(token_hash) = 32))
);

ALTER TABLE ONLY auth.refresh_tokens FORCE ROW LEVEL SECURITY;

CREATE TABLE auth.sessions (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    user_id uuid NOT NULL,
    device_name text,
    platform text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    first_address inet,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    last_address inet,
    expires_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    end_reason text,
    ended_by uuid,
    CONSTRAINT sessions_device_name_check CHECK ((char_length(device_name) <= 100)),
    CONSTRAINT sessions_end_has_reason CHECK (((ended_at IS NULL) = (end_reason IS NULL))),
    CONSTRAINT sessions_end_reason_check CHECK ((end_reason = ANY (ARRAY['signed_out'::text, 'revoked'::text, 'signed_out_everywhere'::text, 'password_changed'::text, 'password_reset'::text, 'token_reused'::text, 'deactivated'::text]))),
    CONSTRAINT sessions_platform_check CHECK ((char_length(platform) <= 50))
);

ALTER TABLE ONLY auth.sessions FORCE ROW LEVEL SECURITY;

CREATE TABLE auth.users (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    email text NOT NULL,
    encrypted_password text,
    raw_user_meta_data jsonb DEFAULT '{}'::jsonb NOT NULL,
    last_sign_in_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deactivated_at timestamp with time zone,
    status_changed_by uuid,
    password_changed_at timestamp with time zone,
    CONSTRAINT users_email_format CHECK (public.is_valid_email(email))
);

ALTER TABLE ONLY auth.users FORCE ROW LEVEL SECURITY;

CREATE TABLE crm_private.product_activation_guard (
    id boolean DEFAULT true NOT NULL,
    activations bigint DEFAULT 0 NOT NULL,
    CONSTRAINT product_activation_guard_id_check CHECK (id)
);

ALTER TABLE ONLY crm_private.product_activation_guard FORCE ROW LEVEL SECURITY;

CREATE TABLE public.acquisition_stages (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    name public.acquisition_stage_enum NOT NULL,
    order_index integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT acquisition_stages_order_index_check CHECK ((order_index >= 0))
);

ALTER TABLE ONLY public.acquisition_stages FORCE ROW LEVEL SECURITY;

CREATE TABLE public.audit_history (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    table_name text NOT NULL,
    record_id uuid NOT NULL,
    action text NOT NULL,
    old_values jsonb,
    new_values jsonb,
    changed_by uuid,
    integration_token_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    client_id uuid,
    client_seq bigint,
    CONSTRAINT audit_history_action_check CHECK ((action = ANY (ARRAY['INSERT'::text, 'UPDATE'::text, 'DELETE'::text])))
);

ALTER TABLE ONLY public.audit_history FORCE ROW LEVEL SECURITY;

CREATE TABLE public.customer_interactions (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    customer_id uuid NOT NULL,
    type text NOT NULL,
    channel public.interaction_channel NOT NULL,
    note text,
    follow_up_date timestamp with time zone,
    created_by uuid DEFAULT auth.uid() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    follow_up_done_at timestamp with time zone,
    CONSTRAINT customer_interactions_follow_up_done_has_date CHECK (((follow_up_done_at IS NULL) OR (follow_up_date IS NOT NULL))),
    CONSTRAINT customer_interactions_note_check CHECK ((length(note) <= 10000)),
    CONSTRAINT customer_interactions_type_check CHECK (((NOT public.is_blank(type)) AND (length(type) <= 50)))
);

ALTER TABLE ONLY public.customer_interactions FORCE ROW LEVEL SECURITY;

CREATE TABLE public.customers (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    name text NOT NULL,
    email text,
    phone text,
    product_id uuid,
    status text DEFAULT 'active'::text NOT NULL,
    acquisition_stage public.acquisition_stage_enum DEFAULT 'lead'::public.acquisition_stage_enum NOT NULL,
    owner uuid DEFAULT auth.uid(),
    is_archived boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT customers_email_check CHECK (public.is_valid_email(email)),
    CONSTRAINT customers_name_check CHECK (((NOT public.is_blank(name)) AND (length(name) <= 200))),
    CONSTRAINT customers_phone_check CHECK (((length(phone) <= 32) AND (phone ~ '^[0-9 +().-]+$'::text) AND (length(regexp_replace(phone, '[^0-9]'::text, ''::text, 'g'::text)) >= 5))),
    CONSTRAINT customers_status_check CHECK ((status = ANY (ARRAY['active'::text, 'inactive'::text, 'churned'::text])))
);

ALTER TABLE ONLY public.customers FORCE ROW LEVEL SECURITY;

CREATE TABLE public.products (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    name text NOT NULL,
    description text,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT products_description_check CHECK ((length(description) <= 10000)),
    CONSTRAINT products_name_check CHECK (((NOT public.is_blank(name)) AND (length(name) <= 100)))
);

ALTER TABLE ONLY public.products FORCE ROW LEVEL SECURITY;

CREATE TABLE public.tickets (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    title text NOT NULL,
    description text,
    priority public.ticket_priority DEFAULT 'medium'::public.ticket_priority NOT NULL,
    status public.ticket_status DEFAULT 'open'::public.ticket_status NOT NULL,
    customer_id uuid,
    assigned_to uuid,
    created_by uuid DEFAULT auth.uid() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    resolved_at timestamp with time zone,
    closed_at timestamp with time zone,
    CONSTRAINT tickets_description_check CHECK ((length(description) <= 20000)),
    CONSTRAINT tickets_title_check CHECK (((NOT public.is_blank(title)) AND (length(title) <= 200)))
);

ALTER TABLE ONLY public.tickets FORCE ROW LEVEL SECURITY;

CREATE VIEW public.customer_summary WITH (security_invoker='true') AS
 SELECT c.id,
    c.name,
    c.email,
    c.phone,
    c.status,
    c.acquisition_stage,
    c.owner,
    public.colleague_name(c.owner) AS owner_name,
    c.product_id,
    p.name AS product_name,
    c.is_archived,
    c.created_at,
    c.updated_at,
    COALESCE(i.interaction_count, (0)::bigint) AS interaction_count,
    i.last_interaction_at,
    i.next_follow_up_at,
    COALESCE(t.ticket_count, (0)::bigint) AS ticket_count,
    COALESCE(t.open_ticket_count, (0)::bigint) AS open_ticket_count
   FROM (((public.customers c
     LEFT JOIN public.products p ON ((p.id = c.product_id)))
     LEFT JOIN LATERAL ( SELECT count(*) AS interaction_count,
            max(ci.created_at) AS last_interaction_at,
            min(ci.follow_up_date) FILTER (WHERE ((ci.follow_up_date >= now()) AND (ci.follow_up_done_at IS NULL))) AS next_follow_up_at
           FROM public.customer_interactions ci
          WHERE (ci.customer_id = c.id)) i ON (true))
     LEFT JOIN LATERAL ( SELECT count(*) AS ticket_count,
            count(*) FILTER (WHERE (tk.status <> ALL (ARRAY['resolved'::public.ticket_status, 'closed'::public.ticket_status]))) AS open_ticket_count
           FROM public.tickets tk
          WHERE (tk.customer_id = c.id)) t ON (true));

CREATE TABLE public.integration_tokens (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    name text NOT NULL,
    token_hash text NOT NULL,
    permissions text[] NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    last_used_at timestamp with time zone,
    created_by uuid DEFAULT auth.uid() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone DEFAULT (now() + '90 days'::interval) NOT NULL,
    token_hint text,
    previous_hash text,
    previous_valid_until timestamp with time zone,
    rotated_at timestamp with time zone,
    revoked_at timestamp with time zone,
    revoked_by uuid,
    use_count bigint DEFAULT 0 NOT NULL,
    CONSTRAINT integration_tokens_name_check CHECK (((NOT public.is_blank(name)) AND (length(name) <= 100))),
    CONSTRAINT integration_tokens_permissions_check CHECK (((cardinality(permissions) > 0) AND (permissions <@ ARRAY['customers:read'::text, 'customers:write'::text, 'interactions:read'::text, 'interactions:write'::text, 'tickets:read'::text, 'tickets:write'::text, 'comments:read'::text, 'comments:write'::text, 'comments:internal'::text, 'attachments:read'::text, 'attachments:write'::text]))),
    CONSTRAINT integration_tokens_previous CHECK (((previous_hash IS NULL) = (previous_valid_until IS NULL))),
    CONSTRAINT integration_tokens_previous_hash_check CHECK ((length(previous_hash) >= 32)),
    CONSTRAINT integration_tokens_revoked CHECK (((revoked_at IS NULL) = is_active)),
    CONSTRAINT integration_tokens_token_hash_check CHECK ((length(token_hash) >= 32)),
    CONSTRAINT integration_tokens_token_hint_check CHECK ((length(token_hint) <= 32)),
    CONSTRAINT integration_tokens_use_count_check CHECK ((use_count >= 0))
);

ALTER TABLE ONLY public.integration_tokens FORCE ROW LEVEL SECURITY;

CREATE TABLE public.profiles (
    id uuid NOT NULL,
    email text NOT NULL,
    full_name text,
    avatar_url text,
    role public.user_role DEFAULT 'agent'::public.user_role NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT profiles_avatar_url_check CHECK ((length(avatar_url) <= 2048)),
    CONSTRAINT profiles_full_name_check CHECK ((length(full_name) <= 200))
);

ALTER TABLE ONLY public.profiles FORCE ROW LEVEL SECURITY;

CREATE TABLE public.ticket_assignees (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    ticket_id uuid NOT NULL,
    user_id uuid NOT NULL,
    assigned_at timestamp with time zone DEFAULT now() NOT NULL,
    assigned_by uuid DEFAULT auth.uid() NOT NULL
);

ALTER TABLE ONLY public.ticket_assignees FORCE ROW LEVEL SECURITY;

CREATE TABLE public.ticket_attachments (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    ticket_id uuid NOT NULL,
    file_name text NOT NULL,
    file_path text NOT NULL,
    file_size bigint NOT NULL,
    mime_type text NOT NULL,
    uploaded_by uuid DEFAULT auth.uid() NOT NULL,
    uploaded_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ticket_attachments_file_name_check CHECK (((file_name <> ''::text) AND (octet_length(file_name) <= 255) AND (file_name !~ '[/\\]'::text) AND (file_name <> ALL (ARRAY['.'::text, '..'::text])))),
    CONSTRAINT ticket_attachments_file_size_check CHECK (((file_size > 0) AND (file_size <= 52428800))),
    CONSTRAINT ticket_attachments_mime_type_check CHECK ((mime_type = ANY (ARRAY['image/png'::text, 'image/jpeg'::text, 'image/gif'::text, 'image/webp'::text, 'application/pdf'::text, 'application/msword'::text, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'::text, 'application/vnd.ms-excel'::text, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'::text, 'application/vnd.ms-powerpoint'::text, 'application/vnd.openxmlformats-officedocument.presentationml.presentation'::text]))),
    CONSTRAINT ticket_attachments_path_shape CHECK ((file_path = (((ticket_id)::text || '/'::text) || file_name)))
);

ALTER TABLE ONLY public.ticket_attachments FORCE ROW LEVEL SECURITY;

CREATE TABLE public.ticket_comments (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    ticket_id uuid NOT NULL,
    content text NOT NULL,
    is_internal boolean DEFAULT false NOT NULL,
    created_by uuid DEFAULT auth.uid() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ticket_comments_content_check CHECK (((NOT public.is_blank(content)) AND (length(content) <= 20000)))
);

ALTER TABLE ONLY public.ticket_comments FORCE ROW LEVEL SECURITY;

CREATE VIEW public.ticket_summary WITH (security_invoker='true') AS
 SELECT t.id,
    t.title,
    t.priority,
    t.status,
    t.customer_id,
    c.name AS customer_name,
    t.assigned_to,
    public.colleague_name(t.assigned_to) AS assigned_to_name,
    t.created_by,
    public.colleague_name(t.created_by) AS created_by_name,
    t.created_at,
    t.updated_at,
    t.resolved_at,
    t.closed_at,
    COALESCE(cm.comment_count, (0)::bigint) AS comment_count,
    COALESCE(a.attachment_count, (0)::bigint) AS attachment_count,
    COALESCE(s.assignee_count, (0)::bigint) AS assignee_count,
    GREATEST(t.updated_at, cm.last_comment_at) AS last_activity_at,
    round((EXTRACT(epoch FROM (COALESCE(t.closed_at, now()) - t.created_at)) / (3600)::numeric), 1) AS age_hours
   FROM ((((public.tickets t
     LEFT JOIN public.customers c ON ((c.id = t.customer_id)))
     LEFT JOIN LATERAL ( SELECT count(*) AS comment_count,
            max(tc.created_at) AS last_comment_at
           FROM public.ticket_comments tc
          WHERE (tc.ticket_id = t.id)) cm ON (true))
     LEFT JOIN LATERAL ( SELECT count(*) AS attachment_count
           FROM public.ticket_attachments ta
          WHERE (ta.ticket_id = t.id)) a ON (true))
     LEFT JOIN LATERAL ( SELECT count(*) AS assignee_count
           FROM public.ticket_assignees tas
          WHERE (tas.ticket_id = t.id)) s ON (true));

CREATE TABLE public.ticket_workflow_history (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    ticket_id uuid NOT NULL,
    from_status public.ticket_status,
    to_status public.ticket_status NOT NULL,
    changed_by uuid,
    note text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ticket_workflow_history_note_check CHECK ((length(note) <= 2000))
);

ALTER TABLE ONLY public.ticket_workflow_history FORCE ROW LEVEL SECURITY;

CREATE VIEW public.user_workload WITH (security_invoker='true') AS
 SELECT p.id AS user_id,
    p.full_name,
    p.role,
    ( SELECT count(*) AS count
           FROM public.tickets t
          WHERE ((t.status <> ALL (ARRAY['resolved'::public.ticket_status, 'closed'::public.ticket_status])) AND ((t.assigned_to = p.id) OR (EXISTS ( SELECT 1
                   FROM public.ticket_assignees a
                  WHERE ((a.ticket_id = t.id) AND (a.user_id = p.id))))))) AS open_tickets,
    ( SELECT count(*) AS count
           FROM public.tickets t
          WHERE ((t.status <> ALL (ARRAY['resolved'::public.ticket_status, 'closed'::public.ticket_status])) AND (t.priority = ANY (ARRAY['high'::public.ticket_priority, 'urgent'::public.ticket_priority])) AND ((t.assigned_to = p.id) OR (EXISTS ( SELECT 1
                   FROM public.ticket_assignees a
                  WHERE ((a.ticket_id = t.id) AND (a.user_id = p.id))))))) AS high_priority_open_tickets,
    ( SELECT count(*) AS count
           FROM public.tickets t
          WHERE ((t.resolved_at >= (now() - '30 days'::interval)) AND ((t.assigned_to = p.id) OR (EXISTS ( SELECT 1
                   FROM public.ticket_assignees a
                  WHERE ((a.ticket_id = t.id) AND (a.user_id = p.id))))))) AS resolved_last_30_days,
    ( SELECT count(*) AS count
           FROM public.customers c
          WHERE ((c.owner = p.id) AND (NOT c.is_archived))) AS owned_customers,
    ( SELECT count(*) AS count
           FROM (public.customer_interactions i
             JOIN public.customers c ON ((c.id = i.customer_id)))
          WHERE ((c.owner = p.id) AND (i.follow_up_date >= now()) AND (i.follow_up_date < (now() + '7 days'::interval)) AND (i.follow_up_done_at IS NULL))) AS follow_ups_next_7_days
   FROM public.profiles p;

CREATE TABLE public.webhook_subscriptions (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    url text NOT NULL,
    event_types text[] NOT NULL,
    description text,
    include_internal boolean DEFAULT false NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    disabled_reason text,
    disabled_at timestamp with time zone,
    created_by uuid DEFAULT auth.uid() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT webhook_subscriptions_description_check CHECK ((length(description) <= 500)),
    CONSTRAINT webhook_subscriptions_event_types_check CHECK (((cardinality(event_types) > 0) AND (event_types <@ ARRAY['customer.created'::text, 'customer.updated'::text, 'customer.archived'::text, 'interaction.logged'::text, 'ticket.created'::text, 'ticket.updated'::text, 'ticket.status_changed'::text, 'ticket.assigned'::text, 'comment.added'::text]))),
    CONSTRAINT webhook_subscriptions_url_check CHECK (((url ~ '^https?://[^/@\s]+(/\S*)?$'::text) AND (length(url) <= 2000)))
);

ALTER TABLE ONLY public.webhook_subscriptions FORCE ROW LEVEL SECURITY;

CREATE TABLE storage.buckets (
    id text NOT NULL,
    name text NOT NULL,
    public boolean DEFAULT false NOT NULL,
    file_size_limit bigint,
    allowed_mime_types text[],
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT buckets_file_size_limit_check CHECK ((file_size_limit > 0))
);

ALTER TABLE ONLY storage.buckets FORCE ROW LEVEL SECURITY;

CREATE TABLE storage.objects (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    bucket_id text NOT NULL,
    name text NOT NULL,
    owner uuid DEFAULT auth.uid(),
    size bigint NOT NULL,
    mime_type text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    content_sha256 text,
    CONSTRAINT objects_content_sha256_check CHECK ((content_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT objects_name_check CHECK (((name <> ''::text) AND (octet_length(name) <= 1024))),
    CONSTRAINT objects_size_check CHECK ((size > 0))
);

ALTER TABLE ONLY storage.objects FORCE ROW LEVEL SECURITY;

CREATE TABLE sync.changes (
    id bigint NOT NULL,
    xid xid8 DEFAULT pg_current_xact_id() NOT NULL,
    table_name text NOT NULL,
    row_id uuid NOT NULL,
    op text NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT changes_op_check CHECK ((op = ANY (ARRAY['upsert'::text, 'delete'::text, 'scope'::text, 'reset'::text])))
);

ALTER TABLE ONLY sync.changes FORCE ROW LEVEL SECURITY;

ALTER TABLE sync.changes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sync.changes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE sync.client_mutations (
    client_id uuid NOT NULL,
    seq bigint NOT NULL,
    table_name text NOT NULL,
    row_id uuid NOT NULL,
    outcome jsonb NOT NULL,
    settled_at timestamp with time zone DEFAULT now() NOT NULL,
    fingerprint text,
    CONSTRAINT client_mutations_seq_check CHECK ((seq > 0))
);

ALTER TABLE ONLY sync.client_mutations FORCE ROW LEVEL SECURITY;

CREATE TABLE sync.clients (
    client_id uuid NOT NULL,
    user_id uuid NOT NULL,
    last_seq bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_push_at timestamp with time zone,
    CONSTRAINT clients_last_seq_check CHECK ((last_seq >= 0))
);

ALTER TABLE ONLY sync.clients FORCE ROW LEVEL SECURITY;

CREATE TABLE sync.conflicts (
    id uuid DEFAULT public.uuid_generate_v7() NOT NULL,
    table_name text NOT NULL,
    row_id uuid NOT NULL,
    field text NOT NULL,
    kept_value jsonb,
    lost_value jsonb,
    kept_by uuid,
    lost_by uuid,
    client_id uuid NOT NULL,
    client_seq bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    resolved_at timestamp with time zone,
    resolution text,
    CONSTRAINT conflicts_resolution_check CHECK ((resolution = ANY (ARRAY['restored'::text, 'dismissed'::text])))
);

ALTER TABLE ONLY sync.conflicts FORCE ROW LEVEL SECURITY;

CREATE TABLE sync.field_clock (
    table_name text NOT NULL,
    row_id uuid NOT NULL,
    field text NOT NULL,
    edited_at timestamp with time zone NOT NULL,
    edited_by uuid,
    client_id uuid,
    client_seq bigint,
    fields text[],
    CONSTRAINT field_clock_insert_fields CHECK (((field = '*'::text) = (fields IS NOT NULL)))
);

ALTER TABLE ONLY sync.field_clock FORCE ROW LEVEL SECURITY;

CREATE TABLE sync.log_horizon (
    only_row boolean DEFAULT true NOT NULL,
    pruned_through xid8 NOT NULL,
    pruned_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT log_horizon_only_row_check CHECK (only_row)
);

ALTER TABLE ONLY sync.log_horizon FORCE ROW LEVEL SECURITY;

CREATE TABLE sync.synced_tables (
    name text NOT NULL,
    load_order integer NOT NULL,
    relation regclass NOT NULL,
    insertable text[],
    updatable text[],
    CONSTRAINT synced_tables_check CHECK (((insertable IS NULL) = (updatable IS NULL)))
);

ALTER TABLE ONLY sync.synced_tables FORCE ROW LEVEL SECURITY;

ALTER TABLE ONLY api.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (token_id, key);

ALTER TABLE ONLY api.rate_buckets
    ADD CONSTRAINT rate_buckets_pkey PRIMARY KEY (key);

ALTER TABLE ONLY api.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);

ALTER TABLE ONLY api.webhook_secrets
    ADD CONSTRAINT webhook_secrets_pkey PRIMARY KEY (subscription_id);

ALTER TABLE ONLY auth.access_policy
    ADD CONSTRAINT access_policy_pkey PRIMARY KEY (id);

ALTER TABLE ONLY auth.login_attempts
    ADD CONSTRAINT login_attempts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY auth.password_reset_codes
    ADD CONSTRAINT password_reset_codes_pkey PRIMARY KEY (user_id);

ALTER TABLE ONLY auth.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY auth.refresh_tokens
    ADD CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash);

ALTER TABLE ONLY auth.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY auth.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

ALTER TABLE ONLY crm_private.product_activation_guard
    ADD CONSTRAINT product_activation_guard_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.acquisition_stages
    ADD CONSTRAINT acquisition_stages_name_key UNIQUE (name);

ALTER TABLE ONLY public.acquisition_stages
    ADD CONSTRAINT acquisition_stages_order_index_key UNIQUE (order_index);

ALTER TABLE ONLY public.acquisition_stages
    ADD CONSTRAINT acquisition_stages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.audit_history
    ADD CONSTRAINT audit_history_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.customer_interactions
    ADD CONSTRAINT customer_interactions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.integration_tokens
    ADD CONSTRAINT integration_tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.integration_tokens
    ADD CONSTRAINT integration_tokens_previous_hash_key UNIQUE (previous_hash);

ALTER TABLE ONLY public.integration_tokens
    ADD CONSTRAINT integration_tokens_token_hash_key UNIQUE (token_hash);

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.profiles
    ADD CONSTRAINT profiles_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ticket_assignees
    ADD CONSTRAINT ticket_assignees_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ticket_assignees
    ADD CONSTRAINT ticket_assignees_ticket_id_user_id_key UNIQUE (ticket_id, user_id);

ALTER TABLE ONLY public.ticket_attachments
    ADD CONSTRAINT ticket_attachments_file_path_key UNIQUE (file_path);

ALTER TABLE ONLY public.ticket_attachments
    ADD CONSTRAINT ticket_attachments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ticket_comments
    ADD CONSTRAINT ticket_comments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ticket_workflow_history
    ADD CONSTRAINT ticket_workflow_history_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.tickets
    ADD CONSTRAINT tickets_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY storage.buckets
    ADD CONSTRAINT buckets_name_key UNIQUE (name);

ALTER TABLE ONLY storage.buckets
    ADD CONSTRAINT buckets_pkey PRIMARY KEY (id);

ALTER TABLE ONLY storage.objects
    ADD CONSTRAINT objects_bucket_id_name_key UNIQUE (bucket_id, name);

ALTER TABLE ONLY storage.objects
    ADD CONSTRAINT objects_pkey PRIMARY KEY (id);

ALTER TABLE ONLY sync.changes
    ADD CONSTRAINT changes_pkey PRIMARY KEY (id);

ALTER TABLE ONLY sync.client_mutations
    ADD CONSTRAINT client_mutations_pkey PRIMARY KEY (client_id, seq);

ALTER TABLE ONLY sync.clients
    ADD CONSTRAINT clients_pkey PRIMARY KEY (client_id);

ALTER TABLE ONLY sync.conflicts
    ADD CONSTRAINT conflicts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY sync.field_clock
    ADD CONSTRAINT field_clock_pkey PRIMARY KEY (table_name, row_id, field);

ALTER TABLE ONLY sync.log_horizon
    ADD CONSTRAINT log_horizon_pkey PRIMARY KEY (only_row);

ALTER TABLE ONLY sync.synced_tables
    ADD CONSTRAINT synced_tables_load_order_key UNIQUE (load_order);

ALTER TABLE ONLY sync.synced_tables
    ADD CONSTRAINT synced_tables_pkey PRIMARY KEY (name);

ALTER TABLE ONLY sync.synced_tables
    ADD CONSTRAINT synced_tables_relation_key UNIQUE (relation);

CREATE INDEX idempotency_keys_created_at_idx ON api.idempotency_keys USING btree (created_at);

CREATE INDEX webhook_deliveries_due_idx ON api.webhook_deliveries USING btree (next_attempt_at, id) WHERE (state = 'pending'::text);

CREATE INDEX webhook_deliveries_record_idx ON api.webhook_deliveries USING btree (subscription_id, record_id, id) WHERE (state = 'pending'::text);

CREATE INDEX webhook_deliveries_subscription_idx ON api.webhook_deliveries USING btree (subscription_id, id);

CREATE INDEX access_policy_updated_by ON auth.access_policy USING btree (updated_by);

CREATE INDEX login_attempts_address_idx ON auth.login_attempts USING btree (address, attempted_at);

CREATE INDEX login_attempts_email_idx ON auth.login_attempts USING btree (lower(email), attempted_at);

CREATE INDEX login_attempts_pair_idx ON auth.login_attempts USING btree (lower(email), address, attempted_at);

CREATE INDEX password_reset_codes_created_by_idx ON auth.password_reset_codes USING btree (created_by);

CREATE INDEX refresh_tokens_family_idx ON auth.refresh_tokens USING btree (family_id);

CREATE INDEX refresh_tokens_parent_idx ON auth.refresh_tokens USING btree (parent_id);

CREATE INDEX refresh_tokens_user_idx ON auth.refresh_tokens USING btree (user_id);

CREATE INDEX sessions_ended_by_idx ON auth.sessions USING btree (ended_by);

CREATE INDEX sessions_user_idx ON auth.sessions USING btree (user_id, created_at DESC);

CREATE UNIQUE INDEX users_email_lower_key ON auth.users USING btree (lower(email));

CREATE INDEX users_status_changed_by_idx ON auth.users USING btree (status_changed_by);

CREATE INDEX audit_history_changed_by_idx ON public.audit_history USING btree (changed_by, created_at);

CREATE INDEX audit_history_created_at_idx ON public.audit_history USING btree (created_at);

CREATE INDEX audit_history_mutation_idx ON public.audit_history USING btree (client_id, client_seq) WHERE (client_id IS NOT NULL);

CREATE INDEX audit_history_record_idx ON public.audit_history USING btree (table_name, record_id, created_at);

CREATE INDEX audit_history_token_idx ON public.audit_history USING btree (integration_token_id) WHERE (integration_token_id IS NOT NULL);

CREATE INDEX customer_interactions_created_at_idx ON public.customer_interactions USING btree (created_at);

CREATE INDEX customer_interactions_created_by_idx ON public.customer_interactions USING btree (created_by);

CREATE INDEX customer_interactions_customer_date_idx ON public.customer_interactions USING btree (customer_id, created_at DESC);

CREATE INDEX customer_interactions_customer_id_idx ON public.customer_interactions USING btree (customer_id);

CREATE INDEX customer_interactions_follow_up_idx ON public.customer_interactions USING btree (follow_up_date) WHERE ((follow_up_date IS NOT NULL) AND (follow_up_done_at IS NULL));

CREATE INDEX customers_acquisition_stage_idx ON public.customers USING btree (acquisition_stage);

CREATE INDEX customers_created_at_idx ON public.customers USING btree (created_at);

CREATE INDEX customers_owner_idx ON public.customers USING btree (owner);

CREATE INDEX customers_owner_stage_idx ON public.customers USING btree (owner, acquisition_stage) WHERE (NOT is_archived);

CREATE INDEX customers_product_id_idx ON public.customers USING btree (product_id);

CREATE INDEX customers_status_idx ON public.customers USING btree (status);

CREATE INDEX customers_updated_at_idx ON public.customers USING btree (updated_at);

CREATE INDEX integration_tokens_created_by_idx ON public.integration_tokens USING btree (created_by);

CREATE INDEX integration_tokens_revoked_by_idx ON public.integration_tokens USING btree (revoked_by) WHERE (revoked_by IS NOT NULL);

CREATE INDEX ticket_assignees_assigned_by_idx ON public.ticket_assignees USING btree (assigned_by);

CREATE INDEX ticket_assignees_user_ticket_idx ON public.ticket_assignees USING btree (user_id, ticket_id);

CREATE INDEX ticket_attachments_ticket_id_idx ON public.ticket_attachments USING btree (ticket_id);

CREATE INDEX ticket_attachments_uploaded_by_idx ON public.ticket_attachments USING btree (uploaded_by);

CREATE INDEX ticket_comments_created_by_idx ON public.ticket_comments USING btree (created_by);

CREATE INDEX ticket_comments_ticket_created_idx ON public.ticket_comments USING btree (ticket_id, created_at);

CREATE INDEX ticket_workflow_history_changed_by_idx ON public.ticket_workflow_history USING btree (changed_by);

CREATE INDEX ticket_workflow_history_ticket_idx ON public.ticket_workflow_history USING btree (ticket_id, created_at);

CREATE INDEX tickets_assigned_to_idx ON public.tickets USING btree (assigned_to);

CREATE INDEX tickets_assignee_open_priority_idx ON public.tickets USING btree (assigned_to, priority) WHERE (status <> ALL (ARRAY['resolved'::public.ticket_status, 'closed'::public.ticket_status]));

CREATE INDEX tickets_created_at_idx ON public.tickets USING btree (created_at);

CREATE INDEX tickets_created_by_idx ON public.tickets USING btree (created_by);

CREATE INDEX tickets_creator_status_idx ON public.tickets USING btree (created_by, status);

CREATE INDEX tickets_customer_id_idx ON public.tickets USING btree (customer_id);

CREATE INDEX tickets_priority_idx ON public.tickets USING btree (priority);

CREATE INDEX tickets_status_idx ON public.tickets USING btree (status);

CREATE INDEX tickets_updated_at_idx ON public.tickets USING btree (updated_at);

CREATE INDEX webhook_subscriptions_created_by_idx ON public.webhook_subscriptions USING btree (created_by);

CREATE INDEX objects_content_sha256_idx ON storage.objects USING btree (content_sha256);

CREATE INDEX objects_owner_idx ON storage.objects USING btree (owner);

CREATE INDEX changes_changed_at_brin ON sync.changes USING brin (changed_at);

CREATE INDEX changes_xid_idx ON sync.changes USING btree (xid, id);

CREATE INDEX clients_user_idx ON sync.clients USING btree (user_id);

CREATE INDEX conflicts_kept_by_idx ON sync.conflicts USING btree (kept_by);

CREATE INDEX conflicts_lost_by_idx ON sync.conflicts USING btree (lost_by);

CREATE INDEX conflicts_mutation_idx ON sync.conflicts USING btree (client_id, client_seq);

CREATE INDEX conflicts_row_idx ON sync.conflicts USING btree (table_name, row_id);

CREATE TRIGGER access_policy_audit_update AFTER UPDATE ON auth.access_policy FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER access_policy_updated_at BEFORE UPDATE ON auth.access_policy FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();

CREATE TRIGGER on_auth_user_email_changed AFTER UPDATE OF email ON auth.users FOR EACH ROW WHEN ((old.email IS DISTINCT FROM new.email)) EXECUTE FUNCTION public.handle_user_email_change();

CREATE TRIGGER sessions_notify_end AFTER UPDATE OF ended_at ON auth.sessions FOR EACH ROW WHEN (((old.ended_at IS NULL) AND (new.ended_at IS NOT NULL))) EXECUTE FUNCTION auth.notify_session_end();

CREATE TRIGGER users_account_status AFTER UPDATE OF deactivated_at ON auth.users FOR EACH ROW WHEN ((old.deactivated_at IS DISTINCT FROM new.deactivated_at)) EXECUTE FUNCTION auth.on_account_status();

CREATE TRIGGER users_updated_at BEFORE UPDATE ON auth.users FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER acquisition_stages_audit_delete AFTER DELETE ON public.acquisition_stages REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER acquisition_stages_audit_insert AFTER INSERT ON public.acquisition_stages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER acquisition_stages_audit_update AFTER UPDATE ON public.acquisition_stages FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER acquisition_stages_immutable BEFORE UPDATE ON public.acquisition_stages FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_at');

CREATE TRIGGER acquisition_stages_sync_delete AFTER DELETE ON public.acquisition_stages REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();

CREATE TRIGGER acquisition_stages_sync_insert AFTER INSERT ON public.acquisition_stages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();

CREATE TRIGGER acquisition_stages_sync_update AFTER UPDATE ON public.acquisition_stages FOR EACH ROW EXECUTE FUNCTION sync.log_change();

CREATE TRIGGER customer_interactions_audit_delete AFTER DELETE ON public.customer_interactions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER customer_interactions_audit_insert AFTER INSERT ON public.customer_interactions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER customer_interactions_audit_update AFTER UPDATE ON public.customer_interactions FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER customer_interactions_creation_time BEFORE INSERT ON public.customer_interactions FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('created_at');

CREATE TRIGGER customer_interactions_follow_up_done BEFORE INSERT OR UPDATE OF follow_up_done_at ON public.customer_interactions FOR EACH ROW EXECUTE FUNCTION public.clamp_follow_up_done();

CREATE TRIGGER customer_interactions_immutable BEFORE UPDATE ON public.customer_interactions FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_by', 'created_at');

CREATE TRIGGER customer_interactions_sync_delete AFTER DELETE ON public.customer_interactions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();

CREATE TRIGGER customer_interactions_sync_insert AFTER INSERT ON public.customer_interactions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();

CREATE TRIGGER customer_interactions_sync_update AFTER UPDATE ON public.customer_interactions FOR EACH ROW EXECUTE FUNCTION sync.log_change();

CREATE TRIGGER customer_interactions_updated_at BEFORE UPDATE ON public.customer_interactions FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER customer_interactions_webhooks AFTER INSERT OR UPDATE ON public.customer_interactions FOR EACH ROW EXECUTE FUNCTION api.record_webhook_events();

CREATE TRIGGER customers_audit_delete AFTER DELETE ON public.customers REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER customers_audit_insert AFTER INSERT ON public.customers REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER customers_audit_update AFTER UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER customers_creation_time BEFORE INSERT ON public.customers FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('created_at');

CREATE TRIGGER customers_immutable BEFORE UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_at');

CREATE TRIGGER customers_sync_delete AFTER DELETE ON public.customers REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();

CREATE TRIGGER customers_sync_insert AFTER INSERT ON public.customers REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();

CREATE TRIGGER customers_sync_update AFTER UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION sync.log_change();

CREATE TRIGGER customers_updated_at BEFORE UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER customers_webhooks AFTER INSERT OR UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION api.record_webhook_events();

CREATE TRIGGER integration_tokens_audit_delete AFTER DELETE ON public.integration_tokens REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER integration_tokens_audit_insert AFTER INSERT ON public.integration_tokens REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER integration_tokens_audit_update AFTER UPDATE ON public.integration_tokens FOR EACH ROW WHEN ((((to_jsonb(old.*) - 'last_used_at'::text) - 'use_count'::text) IS DISTINCT FROM ((to_jsonb(new.*) - 'last_used_at'::text) - 'use_count'::text))) EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER integration_tokens_immutable BEFORE UPDATE ON public.integration_tokens FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'permissions', 'created_by', 'created_at');

CREATE TRIGGER integration_tokens_notify_delete AFTER DELETE ON public.integration_tokens FOR EACH ROW EXECUTE FUNCTION api.notify_token_change();

CREATE TRIGGER integration_tokens_notify_update AFTER UPDATE ON public.integration_tokens FOR EACH ROW WHEN (((((to_jsonb(old.*) - 'last_used_at'::text) - 'use_count'::text) - 'name'::text) IS DISTINCT FROM (((to_jsonb(new.*) - 'last_used_at'::text) - 'use_count'::text) - 'name'::text))) EXECUTE FUNCTION api.notify_token_change();

CREATE TRIGGER integration_tokens_validate BEFORE INSERT OR UPDATE ON public.integration_tokens FOR EACH ROW EXECUTE FUNCTION public.validate_integration_token_permissions();

CREATE TRIGGER products_audit_delete AFTER DELETE ON public.products REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER products_audit_insert AFTER INSERT ON public.products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER products_audit_update AFTER UPDATE ON public.products FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER products_immutable BEFORE UPDATE ON public.products FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_at');

CREATE TRIGGER products_max_active BEFORE INSERT OR UPDATE OF is_active ON public.products FOR EACH ROW EXECUTE FUNCTION public.enforce_max_active_products();

CREATE TRIGGER products_sync_delete AFTER DELETE ON public.products REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();

CREATE TRIGGER products_sync_insert AFTER INSERT ON public.products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();

CREATE TRIGGER products_sync_update AFTER UPDATE ON public.products FOR EACH ROW EXECUTE FUNCTION sync.log_change();

CREATE TRIGGER products_updated_at BEFORE UPDATE ON public.products FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER profiles_audit_delete AFTER DELETE ON public.profiles REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER profiles_audit_insert AFTER INSERT ON public.profiles REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER profiles_audit_update AFTER UPDATE ON public.profiles FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER profiles_immutable BEFORE UPDATE ON public.profiles FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_at');

CREATE TRIGGER profiles_protect_columns BEFORE UPDATE ON public.profiles FOR EACH ROW EXECUTE FUNCTION public.protect_profile_columns();

CREATE TRIGGER profiles_protect_last_admin BEFORE DELETE ON public.profiles FOR EACH ROW EXECUTE FUNCTION public.protect_last_admin();

CREATE TRIGGER profiles_sync_delete AFTER DELETE ON public.profiles REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();

CREATE TRIGGER profiles_sync_insert AFTER INSERT ON public.profiles REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();

CREATE TRIGGER profiles_sync_update AFTER UPDATE ON public.profiles FOR EACH ROW EXECUTE FUNCTION sync.log_change();

CREATE TRIGGER profiles_updated_at BEFORE UPDATE ON public.profiles FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER ticket_assignees_audit_delete AFTER DELETE ON public.ticket_assignees REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER ticket_assignees_audit_insert AFTER INSERT ON public.ticket_assignees REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER ticket_assignees_audit_update AFTER UPDATE ON public.ticket_assignees FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER ticket_assignees_creation_time BEFORE INSERT ON public.ticket_assignees FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('assigned_at');

CREATE TRIGGER ticket_assignees_immutable BEFORE UPDATE ON public.ticket_assignees FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'ticket_id', 'assigned_by', 'assigned_at');

CREATE TRIGGER ticket_assignees_lead_on_assign AFTER INSERT ON public.ticket_assignees FOR EACH ROW EXECUTE FUNCTION public.ticket_lead_on_assign();

CREATE TRIGGER ticket_assignees_lead_on_reassign AFTER UPDATE OF user_id ON public.ticket_assignees FOR EACH ROW EXECUTE FUNCTION public.ticket_lead_on_reassign();

CREATE TRIGGER ticket_assignees_lead_on_unassign AFTER DELETE ON public.ticket_assignees FOR EACH ROW EXECUTE FUNCTION public.ticket_lead_on_unassign();

CREATE TRIGGER ticket_assignees_sync_delete AFTER DELETE ON public.ticket_assignees REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();

CREATE TRIGGER ticket_assignees_sync_insert AFTER INSERT ON public.ticket_assignees REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();

CREATE TRIGGER ticket_assignees_sync_update AFTER UPDATE ON public.ticket_assignees FOR EACH ROW EXECUTE FUNCTION sync.log_change();

CREATE TRIGGER ticket_assignees_webhooks AFTER INSERT OR UPDATE ON public.ticket_assignees FOR EACH ROW EXECUTE FUNCTION api.record_webhook_events();

CREATE TRIGGER ticket_attachments_audit_delete AFTER DELETE ON public.ticket_attachments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER ticket_attachments_audit_insert AFTER INSERT ON public.ticket_attachments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER ticket_attachments_audit_update AFTER UPDATE ON public.ticket_attachments FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER ticket_attachments_creation_time BEFORE INSERT ON public.ticket_attachments FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('uploaded_at');

CREATE TRIGGER ticket_attachments_delete_objects AFTER DELETE ON public.ticket_attachments REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION public.delete_attachment_objects();

CREATE TRIGGER ticket_attachments_has_file BEFORE INSERT ON public.ticket_attachments FOR EACH ROW EXECUTE FUNCTION public.enforce_attachment_has_file();

CREATE TRIGGER ticket_attachments_immutable BEFORE UPDATE ON public.ticket_attachments FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'ticket_id', 'file_name', 'file_path', 'file_size', 'mime_type', 'uploaded_by', 'uploaded_at');

CREATE TRIGGER ticket_attachments_sync_delete AFTER DELETE ON public.ticket_attachments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();

CREATE TRIGGER ticket_attachments_sync_insert AFTER INSERT ON public.ticket_attachments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();

CREATE TRIGGER ticket_attachments_sync_update AFTER UPDATE ON public.ticket_attachments FOR EACH ROW EXECUTE FUNCTION sync.log_change();

CREATE TRIGGER ticket_comments_audit_delete AFTER DELETE ON public.ticket_comments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER ticket_comments_audit_insert AFTER INSERT ON public.ticket_comments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER ticket_comments_audit_update AFTER UPDATE ON public.ticket_comments FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER ticket_comments_creation_time BEFORE INSERT ON public.ticket_comments FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('created_at');

CREATE TRIGGER ticket_comments_immutable BEFORE UPDATE ON public.ticket_comments FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'ticket_id', 'created_by', 'created_at');

CREATE TRIGGER ticket_comments_sync_delete AFTER DELETE ON public.ticket_comments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();

CREATE TRIGGER ticket_comments_sync_insert AFTER INSERT ON public.ticket_comments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();

CREATE TRIGGER ticket_comments_sync_update AFTER UPDATE ON public.ticket_comments FOR EACH ROW EXECUTE FUNCTION sync.log_change();

CREATE TRIGGER ticket_comments_updated_at BEFORE UPDATE ON public.ticket_comments FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER ticket_comments_webhooks AFTER INSERT OR UPDATE ON public.ticket_comments FOR EACH ROW EXECUTE FUNCTION api.record_webhook_events();

CREATE TRIGGER ticket_workflow_history_sync_delete AFTER DELETE ON public.ticket_workflow_history REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();

CREATE TRIGGER ticket_workflow_history_sync_insert AFTER INSERT ON public.ticket_workflow_history REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();

CREATE TRIGGER ticket_workflow_history_sync_update AFTER UPDATE ON public.ticket_workflow_history FOR EACH ROW EXECUTE FUNCTION sync.log_change();

CREATE TRIGGER tickets_audit_delete AFTER DELETE ON public.tickets REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER tickets_audit_insert AFTER INSERT ON public.tickets REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER tickets_audit_update AFTER UPDATE ON public.tickets FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER tickets_creation_time BEFORE INSERT ON public.tickets FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('created_at');

CREATE TRIGGER tickets_customer_access BEFORE INSERT OR UPDATE OF customer_id ON public.tickets FOR EACH ROW EXECUTE FUNCTION public.check_ticket_customer_access();

CREATE TRIGGER tickets_immutable BEFORE UPDATE ON public.tickets FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_by', 'created_at');

CREATE TRIGGER tickets_lead_is_assignee AFTER INSERT OR UPDATE OF assigned_to ON public.tickets FOR EACH ROW EXECUTE FUNCTION public.ticket_lead_is_assignee();

CREATE TRIGGER tickets_lead_kept BEFORE UPDATE OF assigned_to ON public.tickets FOR EACH ROW EXECUTE FUNCTION public.ticket_lead_kept();

CREATE TRIGGER tickets_status_after AFTER INSERT OR UPDATE OF status ON public.tickets FOR EACH ROW EXECUTE FUNCTION public.log_ticket_status_change();

CREATE TRIGGER tickets_status_before BEFORE INSERT OR UPDATE ON public.tickets FOR EACH ROW EXECUTE FUNCTION public.log_ticket_status_change();

CREATE TRIGGER tickets_sync_delete AFTER DELETE ON public.tickets REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();

CREATE TRIGGER tickets_sync_insert AFTER INSERT ON public.tickets REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();

CREATE TRIGGER tickets_sync_update AFTER UPDATE ON public.tickets FOR EACH ROW EXECUTE FUNCTION sync.log_change();

CREATE TRIGGER tickets_updated_at BEFORE UPDATE ON public.tickets FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER tickets_webhooks AFTER INSERT OR UPDATE ON public.tickets FOR EACH ROW EXECUTE FUNCTION api.record_webhook_events();

CREATE TRIGGER webhook_subscriptions_audit_delete AFTER DELETE ON public.webhook_subscriptions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

CREATE TRIGGER webhook_subscriptions_audit_insert AFTER INSERT ON public.webhook_subscriptions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();

CREATE TRIGGER webhook_subscriptions_audit_update AFTER UPDATE ON public.webhook_subscriptions FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();

CREATE TRIGGER webhook_subscriptions_immutable BEFORE UPDATE ON public.webhook_subscriptions FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_by', 'created_at');

CREATE TRIGGER webhook_subscriptions_updated_at BEFORE UPDATE ON public.webhook_subscriptions FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER buckets_updated_at BEFORE UPDATE ON storage.buckets FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER objects_bucket_rules BEFORE INSERT OR UPDATE ON storage.objects FOR EACH ROW EXECUTE FUNCTION storage.enforce_bucket_rules();

CREATE TRIGGER objects_immutable BEFORE UPDATE ON storage.objects FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'bucket_id', 'name', 'owner', 'size', 'mime_type', 'content_sha256', 'created_at');

CREATE TRIGGER objects_protect_attached BEFORE DELETE ON storage.objects FOR EACH ROW EXECUTE FUNCTION storage.protect_attached_objects();

CREATE TRIGGER objects_updated_at BEFORE UPDATE ON storage.objects FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TRIGGER changes_notify AFTER INSERT ON sync.changes FOR EACH STATEMENT EXECUTE FUNCTION sync.notify_change();

CREATE TRIGGER conflicts_sync AFTER INSERT OR DELETE OR UPDATE ON sync.conflicts FOR EACH ROW EXECUTE FUNCTION sync.log_change();

ALTER TABLE ONLY api.idempotency_keys
    ADD CONSTRAINT idempotency_keys_token_id_fkey FOREIGN KEY (token_id) REFERENCES public.integration_tokens(id) ON DELETE CASCADE;

ALTER TABLE ONLY api.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES public.webhook_subscriptions(id) ON DELETE CASCADE;

ALTER TABLE ONLY api.webhook_secrets
    ADD CONSTRAINT webhook_secrets_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES public.webhook_subscriptions(id) ON DELETE CASCADE;

ALTER TABLE ONLY auth.access_policy
    ADD CONSTRAINT access_policy_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES auth.users(id);

ALTER TABLE ONLY auth.password_reset_codes
    ADD CONSTRAINT password_reset_codes_created_by_fkey FOREIGN KEY (created_by) REFERENCES auth.users(id) ON DELETE SET NULL;

ALTER TABLE ONLY auth.password_reset_codes
    ADD CONSTRAINT password_reset_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY auth.refresh_tokens
    ADD CONSTRAINT refresh_tokens_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES auth.refresh_tokens(id) ON DELETE SET NULL;

ALTER TABLE ONLY auth.refresh_tokens
    ADD CONSTRAINT refresh_tokens_session_fk FOREIGN KEY (family_id) REFERENCES auth.sessions(id) ON DELETE CASCADE;

ALTER TABLE ONLY auth.refresh_tokens
    ADD CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY auth.sessions
    ADD CONSTRAINT sessions_ended_by_fkey FOREIGN KEY (ended_by) REFERENCES auth.users(id) ON DELETE SET NULL;

ALTER TABLE ONLY auth.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY auth.users
    ADD CONSTRAINT users_status_changed_by_fkey FOREIGN KEY (status_changed_by) REFERENCES auth.users(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.customer_interactions
    ADD CONSTRAINT customer_interactions_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.profiles(id);

ALTER TABLE ONLY public.customer_interactions
    ADD CONSTRAINT customer_interactions_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_owner_fkey FOREIGN KEY (owner) REFERENCES public.profiles(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.integration_tokens
    ADD CONSTRAINT integration_tokens_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.profiles(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.integration_tokens
    ADD CONSTRAINT integration_tokens_revoked_by_fkey FOREIGN KEY (revoked_by) REFERENCES public.profiles(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.profiles
    ADD CONSTRAINT profiles_id_fkey FOREIGN KEY (id) REFERENCES auth.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ticket_assignees
    ADD CONSTRAINT ticket_assignees_assigned_by_fkey FOREIGN KEY (assigned_by) REFERENCES public.profiles(id);

ALTER TABLE ONLY public.ticket_assignees
    ADD CONSTRAINT ticket_assignees_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES public.tickets(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ticket_assignees
    ADD CONSTRAINT ticket_assignees_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.profiles(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ticket_attachments
    ADD CONSTRAINT ticket_attachments_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES public.tickets(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ticket_attachments
    ADD CONSTRAINT ticket_attachments_uploaded_by_fkey FOREIGN KEY (uploaded_by) REFERENCES public.profiles(id);

ALTER TABLE ONLY public.ticket_comments
    ADD CONSTRAINT ticket_comments_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.profiles(id);

ALTER TABLE ONLY public.ticket_comments
    ADD CONSTRAINT ticket_comments_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES public.tickets(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ticket_workflow_history
    ADD CONSTRAINT ticket_workflow_history_changed_by_fkey FOREIGN KEY (changed_by) REFERENCES public.profiles(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.ticket_workflow_history
    ADD CONSTRAINT ticket_workflow_history_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES public.tickets(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.tickets
    ADD CONSTRAINT tickets_assigned_to_fkey FOREIGN KEY (assigned_to) REFERENCES public.profiles(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.tickets
    ADD CONSTRAINT tickets_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.profiles(id);

ALTER TABLE ONLY public.tickets
    ADD CONSTRAINT tickets_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.profiles(id) ON DELETE CASCADE;

ALTER TABLE ONLY storage.objects
    ADD CONSTRAINT objects_bucket_id_fkey FOREIGN KEY (bucket_id) REFERENCES storage.buckets(id);

ALTER TABLE ONLY sync.client_mutations
    ADD CONSTRAINT client_mutations_client_id_fkey FOREIGN KEY (client_id) REFERENCES sync.clients(client_id) ON DELETE CASCADE;

ALTER TABLE ONLY sync.clients
    ADD CONSTRAINT clients_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE;

ALTER TABLE api.idempotency_keys ENABLE ROW LEVEL SECURITY;

ALTER TABLE api.rate_buckets ENABLE ROW LEVEL SECURITY;

ALTER TABLE api.webhook_deliveries ENABLE ROW LEVEL SECURITY;

ALTER TABLE api.webhook_secrets ENABLE ROW LEVEL SECURITY;

ALTER TABLE auth.access_policy ENABLE ROW LEVEL SECURITY;

CREATE POLICY access_policy_admins ON auth.access_policy FOR UPDATE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session))) WITH CHECK ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session) AND (updated_by = ( SELECT auth.uid() AS uid))));

CREATE POLICY access_policy_read ON auth.access_policy FOR SELECT TO authenticated, service_role USING (true);

ALTER TABLE auth.login_attempts ENABLE ROW LEVEL SECURITY;

ALTER TABLE auth.password_reset_codes ENABLE ROW LEVEL SECURITY;

ALTER TABLE auth.refresh_tokens ENABLE ROW LEVEL SECURITY;

ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;

ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;

ALTER TABLE crm_private.product_activation_guard ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.acquisition_stages ENABLE ROW LEVEL SECURITY;

CREATE POLICY acquisition_stages_delete ON public.acquisition_stages FOR DELETE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY acquisition_stages_insert ON public.acquisition_stages FOR INSERT TO authenticated WITH CHECK ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY acquisition_stages_select ON public.acquisition_stages FOR SELECT TO authenticated USING ((( SELECT auth.uid() AS uid) IS NOT NULL));

CREATE POLICY acquisition_stages_update ON public.acquisition_stages FOR UPDATE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session))) WITH CHECK ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

ALTER TABLE public.audit_history ENABLE ROW LEVEL SECURITY;

CREATE POLICY audit_history_select ON public.audit_history FOR SELECT TO authenticated USING ((((changed_by = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY audit_history_select_token ON public.audit_history FOR SELECT TO authenticated USING (((integration_token_id IS NOT NULL) AND (integration_token_id = ( SELECT auth.integration_token_id() AS integration_token_id)) AND (changed_by = ( SELECT auth.uid() AS uid))));

ALTER TABLE public.customer_interactions ENABLE ROW LEVEL SECURITY;

CREATE POLICY customer_interactions_delete ON public.customer_interactions FOR DELETE TO authenticated USING ((public.can_access_customer(customer_id) AND ( SELECT public.token_permits('interactions:write'::text) AS token_permits)));

CREATE POLICY customer_interactions_insert ON public.customer_interactions FOR INSERT TO authenticated WITH CHECK (((created_by = ( SELECT auth.uid() AS uid)) AND public.can_access_customer(customer_id) AND ( SELECT public.token_permits('interactions:write'::text) AS token_permits)));

CREATE POLICY customer_interactions_select ON public.customer_interactions FOR SELECT TO authenticated USING ((public.can_access_customer(customer_id) AND ( SELECT public.token_permits('interactions:read'::text) AS token_permits)));

CREATE POLICY customer_interactions_update ON public.customer_interactions FOR UPDATE TO authenticated USING ((public.can_access_customer(customer_id) AND ( SELECT public.token_permits('interactions:write'::text) AS token_permits))) WITH CHECK ((public.can_access_customer(customer_id) AND ( SELECT public.token_permits('interactions:write'::text) AS token_permits)));

ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;

CREATE POLICY customers_delete ON public.customers FOR DELETE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.token_permits('customers:write'::text) AS token_permits)));

CREATE POLICY customers_insert ON public.customers FOR INSERT TO authenticated WITH CHECK ((((owner = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND ( SELECT public.token_permits('customers:write'::text) AS token_permits)));

CREATE POLICY customers_select ON public.customers FOR SELECT TO authenticated USING ((((owner = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND ( SELECT public.token_permits('customers:read'::text) AS token_permits)));

CREATE POLICY customers_update ON public.customers FOR UPDATE TO authenticated USING ((((owner = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND ( SELECT public.token_permits('customers:write'::text) AS token_permits))) WITH CHECK ((((owner = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND ( SELECT public.token_permits('customers:write'::text) AS token_permits)));

ALTER TABLE public.integration_tokens ENABLE ROW LEVEL SECURITY;

CREATE POLICY integration_tokens_admin_select ON public.integration_tokens FOR SELECT TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY integration_tokens_admin_update ON public.integration_tokens FOR UPDATE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session))) WITH CHECK ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY integration_tokens_insert ON public.integration_tokens FOR INSERT TO authenticated WITH CHECK (((created_by = ( SELECT auth.uid() AS uid)) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY integration_tokens_select ON public.integration_tokens FOR SELECT TO authenticated USING (((created_by = ( SELECT auth.uid() AS uid)) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY integration_tokens_update ON public.integration_tokens FOR UPDATE TO authenticated USING (((created_by = ( SELECT auth.uid() AS uid)) AND ( SELECT public.is_personal_session() AS is_personal_session))) WITH CHECK (((created_by = ( SELECT auth.uid() AS uid)) AND ( SELECT public.is_personal_session() AS is_personal_session)));

ALTER TABLE public.products ENABLE ROW LEVEL SECURITY;

CREATE POLICY products_delete ON public.products FOR DELETE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY products_insert ON public.products FOR INSERT TO authenticated WITH CHECK ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY products_select ON public.products FOR SELECT TO authenticated USING ((( SELECT auth.uid() AS uid) IS NOT NULL));

CREATE POLICY products_update ON public.products FOR UPDATE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session))) WITH CHECK ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;

CREATE POLICY profiles_delete ON public.profiles FOR DELETE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY profiles_insert ON public.profiles FOR INSERT TO authenticated WITH CHECK ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY profiles_select ON public.profiles FOR SELECT TO authenticated USING (((id = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)));

CREATE POLICY profiles_update ON public.profiles FOR UPDATE TO authenticated USING ((((id = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND ( SELECT public.is_personal_session() AS is_personal_session))) WITH CHECK ((((id = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND ( SELECT public.is_personal_session() AS is_personal_session)));

ALTER TABLE public.ticket_assignees ENABLE ROW LEVEL SECURITY;

CREATE POLICY ticket_assignees_delete ON public.ticket_assignees FOR DELETE TO authenticated USING ((public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('tickets:write'::text) AS token_permits)));

CREATE POLICY ticket_assignees_insert ON public.ticket_assignees FOR INSERT TO authenticated WITH CHECK (((assigned_by = ( SELECT auth.uid() AS uid)) AND public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('tickets:write'::text) AS token_permits)));

CREATE POLICY ticket_assignees_select ON public.ticket_assignees FOR SELECT TO authenticated USING ((public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('tickets:read'::text) AS token_permits)));

CREATE POLICY ticket_assignees_update ON public.ticket_assignees FOR UPDATE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session))) WITH CHECK ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

ALTER TABLE public.ticket_attachments ENABLE ROW LEVEL SECURITY;

CREATE POLICY ticket_attachments_delete ON public.ticket_attachments FOR DELETE TO authenticated USING ((((uploaded_by = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('attachments:write'::text) AS token_permits)));

CREATE POLICY ticket_attachments_insert ON public.ticket_attachments FOR INSERT TO authenticated WITH CHECK (((uploaded_by = ( SELECT auth.uid() AS uid)) AND public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('attachments:write'::text) AS token_permits)));

CREATE POLICY ticket_attachments_select ON public.ticket_attachments FOR SELECT TO authenticated USING ((public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('attachments:read'::text) AS token_permits)));

CREATE POLICY ticket_attachments_update ON public.ticket_attachments FOR UPDATE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session))) WITH CHECK ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.is_personal_session() AS is_personal_session)));

ALTER TABLE public.ticket_comments ENABLE ROW LEVEL SECURITY;

CREATE POLICY ticket_comments_delete ON public.ticket_comments FOR DELETE TO authenticated USING ((((created_by = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('comments:write'::text) AS token_permits)));

CREATE POLICY ticket_comments_insert ON public.ticket_comments FOR INSERT TO authenticated WITH CHECK (((created_by = ( SELECT auth.uid() AS uid)) AND public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('comments:write'::text) AS token_permits) AND ((NOT is_internal) OR ( SELECT public.token_permits('comments:internal'::text) AS token_permits))));

CREATE POLICY ticket_comments_select ON public.ticket_comments FOR SELECT TO authenticated USING ((public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('comments:read'::text) AS token_permits) AND ((NOT is_internal) OR ( SELECT public.token_permits('comments:internal'::text) AS token_permits))));

CREATE POLICY ticket_comments_update ON public.ticket_comments FOR UPDATE TO authenticated USING (((created_by = ( SELECT auth.uid() AS uid)) AND public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('comments:write'::text) AS token_permits))) WITH CHECK (((created_by = ( SELECT auth.uid() AS uid)) AND public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('comments:write'::text) AS token_permits) AND ((NOT is_internal) OR ( SELECT public.token_permits('comments:internal'::text) AS token_permits))));

ALTER TABLE public.ticket_workflow_history ENABLE ROW LEVEL SECURITY;

CREATE POLICY ticket_workflow_history_select ON public.ticket_workflow_history FOR SELECT TO authenticated USING ((public.can_access_ticket(ticket_id) AND ( SELECT public.token_permits('tickets:read'::text) AS token_permits)));

ALTER TABLE public.tickets ENABLE ROW LEVEL SECURITY;

CREATE POLICY tickets_delete ON public.tickets FOR DELETE TO authenticated USING ((( SELECT public.is_admin() AS is_admin) AND ( SELECT public.token_permits('tickets:write'::text) AS token_permits)));

CREATE POLICY tickets_insert ON public.tickets FOR INSERT TO authenticated WITH CHECK (((created_by = ( SELECT auth.uid() AS uid)) AND ( SELECT public.token_permits('tickets:write'::text) AS token_permits)));

CREATE POLICY tickets_select ON public.tickets FOR SELECT TO authenticated USING ((((created_by = ( SELECT auth.uid() AS uid)) OR (assigned_to = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin) OR public.is_ticket_assignee(id)) AND ( SELECT public.token_permits('tickets:read'::text) AS token_permits)));

CREATE POLICY tickets_update ON public.tickets FOR UPDATE TO authenticated USING ((((created_by = ( SELECT auth.uid() AS uid)) OR (assigned_to = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin) OR public.is_ticket_assignee(id)) AND ( SELECT public.token_permits('tickets:write'::text) AS token_permits))) WITH CHECK ((((created_by = ( SELECT auth.uid() AS uid)) OR (assigned_to = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin) OR public.is_ticket_assignee(id)) AND ( SELECT public.token_permits('tickets:write'::text) AS token_permits)));

ALTER TABLE public.webhook_subscriptions ENABLE ROW LEVEL SECURITY;

CREATE POLICY webhook_subscriptions_delete ON public.webhook_subscriptions FOR DELETE TO authenticated USING ((((created_by = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY webhook_subscriptions_insert ON public.webhook_subscriptions FOR INSERT TO authenticated WITH CHECK (((created_by = ( SELECT auth.uid() AS uid)) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY webhook_subscriptions_select ON public.webhook_subscriptions FOR SELECT TO authenticated USING ((((created_by = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY webhook_subscriptions_update ON public.webhook_subscriptions FOR UPDATE TO authenticated USING (((created_by = ( SELECT auth.uid() AS uid)) AND ( SELECT public.is_personal_session() AS is_personal_session))) WITH CHECK (((created_by = ( SELECT auth.uid() AS uid)) AND ( SELECT public.is_personal_session() AS is_personal_session)));

ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;

CREATE POLICY buckets_select ON storage.buckets FOR SELECT TO authenticated USING ((( SELECT auth.uid() AS uid) IS NOT NULL));

ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;

CREATE POLICY ticket_attachment_objects_delete ON storage.objects FOR DELETE TO authenticated USING (((bucket_id = 'ticket-attachments'::text) AND ((owner = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND public.can_access_ticket(storage.ticket_id_of(name)) AND ( SELECT public.token_permits('attachments:write'::text) AS token_permits)));

CREATE POLICY ticket_attachment_objects_insert ON storage.objects FOR INSERT TO authenticated WITH CHECK (((bucket_id = 'ticket-attachments'::text) AND (owner = ( SELECT auth.uid() AS uid)) AND public.can_access_ticket(storage.ticket_id_of(name)) AND ( SELECT public.token_permits('attachments:write'::text) AS token_permits)));

CREATE POLICY ticket_attachment_objects_select ON storage.objects FOR SELECT TO authenticated USING (((bucket_id = 'ticket-attachments'::text) AND public.can_access_ticket(storage.ticket_id_of(name)) AND ( SELECT public.token_permits('attachments:read'::text) AS token_permits)));

CREATE POLICY ticket_attachment_objects_update ON storage.objects FOR UPDATE TO authenticated USING (((bucket_id = 'ticket-attachments'::text) AND (owner = ( SELECT auth.uid() AS uid)) AND public.can_access_ticket(storage.ticket_id_of(name)) AND ( SELECT public.token_permits('attachments:write'::text) AS token_permits))) WITH CHECK (((bucket_id = 'ticket-attachments'::text) AND (owner = ( SELECT auth.uid() AS uid)) AND public.can_access_ticket(storage.ticket_id_of(name)) AND ( SELECT public.token_permits('attachments:write'::text) AS token_permits)));

ALTER TABLE sync.changes ENABLE ROW LEVEL SECURITY;

ALTER TABLE sync.client_mutations ENABLE ROW LEVEL SECURITY;

ALTER TABLE sync.clients ENABLE ROW LEVEL SECURITY;

ALTER TABLE sync.conflicts ENABLE ROW LEVEL SECURITY;

CREATE POLICY conflicts_select ON sync.conflicts FOR SELECT TO authenticated USING ((((kept_by = ( SELECT auth.uid() AS uid)) OR (lost_by = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin() AS is_admin)) AND ( SELECT public.is_personal_session() AS is_personal_session)));

CREATE POLICY conflicts_update ON sync.conflicts FOR UPDATE TO authenticated USING ((((kept_by = ( SELECT auth.uid() AS uid)) OR (lost_by = ( SELECT auth.uid() AS uid))) AND ( SELECT public.is_personal_session() AS is_personal_session))) WITH CHECK ((((kept_by = ( SELECT auth.uid() AS uid)) OR (lost_by = ( SELECT auth.uid() AS uid))) AND ( SELECT public.is_personal_session() AS is_personal_session)));

ALTER TABLE sync.field_clock ENABLE ROW LEVEL SECURITY;

ALTER TABLE sync.log_horizon ENABLE ROW LEVEL SECURITY;

ALTER TABLE sync.synced_tables ENABLE ROW LEVEL SECURITY;

CREATE POLICY synced_tables_read ON sync.synced_tables FOR SELECT TO authenticated, service_role USING (true);

GRANT USAGE ON SCHEMA api TO authenticated;
GRANT USAGE ON SCHEMA api TO service_role;

GRANT USAGE ON SCHEMA auth TO anon;
GRANT USAGE ON SCHEMA auth TO authenticated;
GRANT USAGE ON SCHEMA auth TO service_role;

GRANT USAGE ON SCHEMA crm_private TO authenticated;
GRANT USAGE ON SCHEMA crm_private TO service_role;

REVOKE USAGE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO anon;
GRANT USAGE ON SCHEMA public TO authenticated;
GRANT USAGE ON SCHEMA public TO service_role;

GRANT USAGE ON SCHEMA storage TO authenticated;
GRANT USAGE ON SCHEMA storage TO service_role;

GRANT USAGE ON SCHEMA sync TO authenticated;
GRANT USAGE ON SCHEMA sync TO service_role;

REVOKE ALL ON FUNCTION api.count_rows(p_table text, p_eq jsonb, p_min jsonb, p_max jsonb, p_null text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION api.count_rows(p_table text, p_eq jsonb, p_min jsonb, p_max jsonb, p_null text[]) TO authenticated;

REVOKE ALL ON FUNCTION api.get_row(p_table text, p_id uuid, p_lock boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_row(p_table text, p_id uuid, p_lock boolean) TO authenticated;

REVOKE ALL ON FUNCTION api.get_rows(p_table text, p_ids uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_rows(p_table text, p_ids uuid[]) TO authenticated;

REVOKE ALL ON FUNCTION api.list_rows(p_table text, p_eq jsonb, p_min jsonb, p_max jsonb, p_null text[], p_sort text, p_desc boolean, p_after jsonb, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.list_rows(p_table text, p_eq jsonb, p_min jsonb, p_max jsonb, p_null text[], p_sort text, p_desc boolean, p_after jsonb, p_limit integer) TO authenticated;

REVOKE ALL ON FUNCTION api.notify_token_change() FROM PUBLIC;

REVOKE ALL ON FUNCTION api.record_webhook_events() FROM PUBLIC;

REVOKE ALL ON FUNCTION api.take_from_bucket(p_key text, p_interval_ms double precision, p_burst integer, p_want integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.take_from_bucket(p_key text, p_interval_ms double precision, p_burst integer, p_want integer) TO service_role;

REVOKE ALL ON FUNCTION api.visible_ids(p_table text, p_ids uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION api.visible_ids(p_table text, p_ids uuid[]) TO authenticated;

REVOKE ALL ON FUNCTION api.where_clause(p_table regclass, p_eq jsonb, p_min jsonb, p_max jsonb, p_null text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION api.where_clause(p_table regclass, p_eq jsonb, p_min jsonb, p_max jsonb, p_null text[]) TO authenticated;

REVOKE ALL ON FUNCTION auth.integration_token_id() FROM PUBLIC;
GRANT ALL ON FUNCTION auth.integration_token_id() TO anon;
GRANT ALL ON FUNCTION auth.integration_token_id() TO authenticated;
GRANT ALL ON FUNCTION auth.integration_token_id() TO service_role;

REVOKE ALL ON FUNCTION auth.jwt() FROM PUBLIC;
GRANT ALL ON FUNCTION auth.jwt() TO anon;
GRANT ALL ON FUNCTION auth.jwt() TO authenticated;
GRANT ALL ON FUNCTION auth.jwt() TO service_role;

REVOKE ALL ON FUNCTION auth.notify_session_end() FROM PUBLIC;

REVOKE ALL ON FUNCTION auth.on_account_status() FROM PUBLIC;

REVOKE ALL ON FUNCTION auth.role() FROM PUBLIC;
GRANT ALL ON FUNCTION auth.role() TO anon;
GRANT ALL ON FUNCTION auth.role() TO authenticated;
GRANT ALL ON FUNCTION auth.role() TO service_role;

REVOKE ALL ON FUNCTION auth.uid() FROM PUBLIC;
GRANT ALL ON FUNCTION auth.uid() TO anon;
GRANT ALL ON FUNCTION auth.uid() TO authenticated;
GRANT ALL ON FUNCTION auth.uid() TO service_role;

REVOKE ALL ON FUNCTION crm_private.another_active_admin(other uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION crm_private.another_active_admin(other uuid) TO authenticated;
GRANT ALL ON FUNCTION crm_private.another_active_admin(other uuid) TO service_role;

REVOKE ALL ON FUNCTION public.audit_deleted_rows() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.audit_inserted_rows() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.audit_updated_row() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.can_access_customer(p_customer_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.can_access_customer(p_customer_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.can_access_customer(p_customer_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.can_access_ticket(p_ticket_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.can_access_ticket(p_ticket_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.can_access_ticket(p_ticket_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.check_ticket_customer_access() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.clamp_creation_time() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.clamp_follow_up_done() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.colleague_name(p_user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.colleague_name(p_user_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.colleague_name(p_user_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.current_user_role() FROM PUBLIC;
GRANT ALL ON FUNCTION public.current_user_role() TO authenticated;
GRANT ALL ON FUNCTION public.current_user_role() TO service_role;

REVOKE ALL ON FUNCTION public.delete_attachment_objects() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.enforce_attachment_has_file() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.enforce_immutable_columns() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.enforce_max_active_products() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.get_colleagues() FROM PUBLIC;
GRANT ALL ON FUNCTION public.get_colleagues() TO authenticated;
GRANT ALL ON FUNCTION public.get_colleagues() TO service_role;

REVOKE ALL ON FUNCTION public.get_customer_stats() FROM PUBLIC;
GRANT ALL ON FUNCTION public.get_customer_stats() TO authenticated;
GRANT ALL ON FUNCTION public.get_customer_stats() TO service_role;

REVOKE ALL ON FUNCTION public.get_dashboard_data() FROM PUBLIC;
GRANT ALL ON FUNCTION public.get_dashboard_data() TO authenticated;
GRANT ALL ON FUNCTION public.get_dashboard_data() TO service_role;

REVOKE ALL ON FUNCTION public.get_ticket_attachment_url(p_attachment_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.get_ticket_attachment_url(p_attachment_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.get_ticket_attachment_url(p_attachment_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.get_ticket_stats() FROM PUBLIC;
GRANT ALL ON FUNCTION public.get_ticket_stats() TO authenticated;
GRANT ALL ON FUNCTION public.get_ticket_stats() TO service_role;

REVOKE ALL ON FUNCTION public.handle_new_user() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.handle_user_email_change() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.integration_token_allows(p_token_id uuid, p_permission text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.integration_token_allows(p_token_id uuid, p_permission text) TO authenticated;
GRANT ALL ON FUNCTION public.integration_token_allows(p_token_id uuid, p_permission text) TO service_role;

REVOKE ALL ON FUNCTION public.is_admin() FROM PUBLIC;
GRANT ALL ON FUNCTION public.is_admin() TO authenticated;
GRANT ALL ON FUNCTION public.is_admin() TO service_role;

REVOKE ALL ON FUNCTION public.is_blank(p text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.is_blank(p text) TO authenticated;
GRANT ALL ON FUNCTION public.is_blank(p text) TO service_role;

REVOKE ALL ON FUNCTION public.is_personal_session() FROM PUBLIC;
GRANT ALL ON FUNCTION public.is_personal_session() TO authenticated;
GRANT ALL ON FUNCTION public.is_personal_session() TO service_role;

REVOKE ALL ON FUNCTION public.is_privileged_session() FROM PUBLIC;
GRANT ALL ON FUNCTION public.is_privileged_session() TO authenticated;
GRANT ALL ON FUNCTION public.is_privileged_session() TO service_role;

REVOKE ALL ON FUNCTION public.is_ticket_assignee(p_ticket_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.is_ticket_assignee(p_ticket_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.is_ticket_assignee(p_ticket_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.is_valid_email(p text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.is_valid_email(p text) TO authenticated;
GRANT ALL ON FUNCTION public.is_valid_email(p text) TO service_role;

REVOKE ALL ON FUNCTION public.log_ticket_status_change() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.next_ticket_lead(p_ticket uuid, p_without uuid) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.protect_last_admin() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.protect_profile_columns() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.ticket_lead_is_assignee() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.ticket_lead_kept() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.ticket_lead_on_assign() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.ticket_lead_on_reassign() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.ticket_lead_on_unassign() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.ticket_status_transition_allowed(p_from public.ticket_status, p_to public.ticket_status) FROM PUBLIC;
GRANT ALL ON FUNCTION public.ticket_status_transition_allowed(p_from public.ticket_status, p_to public.ticket_status) TO authenticated;
GRANT ALL ON FUNCTION public.ticket_status_transition_allowed(p_from public.ticket_status, p_to public.ticket_status) TO service_role;

REVOKE ALL ON FUNCTION public.token_permits(p_permission text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.token_permits(p_permission text) TO authenticated;
GRANT ALL ON FUNCTION public.token_permits(p_permission text) TO service_role;

REVOKE ALL ON FUNCTION public.update_updated_at_column() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.uuid_generate_v7() FROM PUBLIC;
GRANT ALL ON FUNCTION public.uuid_generate_v7() TO authenticated;
GRANT ALL ON FUNCTION public.uuid_generate_v7() TO service_role;

REVOKE ALL ON FUNCTION public.validate_integration_token_permissions() FROM PUBLIC;

REVOKE ALL ON FUNCTION storage.enforce_bucket_rules() FROM PUBLIC;

REVOKE ALL ON FUNCTION storage.filename(p_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION storage.filename(p_name text) TO authenticated;
GRANT ALL ON FUNCTION storage.filename(p_name text) TO service_role;

REVOKE ALL ON FUNCTION storage.foldername(p_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION storage.foldername(p_name text) TO authenticated;
GRANT ALL ON FUNCTION storage.foldername(p_name text) TO service_role;

REVOKE ALL ON FUNCTION storage.protect_attached_objects() FROM PUBLIC;

REVOKE ALL ON FUNCTION storage.ticket_id_of(p_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION storage.ticket_id_of(p_name text) TO authenticated;
GRANT ALL ON FUNCTION storage.ticket_id_of(p_name text) TO service_role;

REVOKE ALL ON FUNCTION sync.apply_delete(p_table text, p_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.apply_delete(p_table text, p_id uuid) TO authenticated;
GRANT ALL ON FUNCTION sync.apply_delete(p_table text, p_id uuid) TO service_role;

REVOKE ALL ON FUNCTION sync.apply_group(p_table text, p_op text, p_rows jsonb, p_seqs jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.apply_group(p_table text, p_op text, p_rows jsonb, p_seqs jsonb) TO authenticated;
GRANT ALL ON FUNCTION sync.apply_group(p_table text, p_op text, p_rows jsonb, p_seqs jsonb) TO service_role;

REVOKE ALL ON FUNCTION sync.apply_insert(p_table text, p_id uuid, p_values jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.apply_insert(p_table text, p_id uuid, p_values jsonb) TO authenticated;
GRANT ALL ON FUNCTION sync.apply_insert(p_table text, p_id uuid, p_values jsonb) TO service_role;

REVOKE ALL ON FUNCTION sync.apply_inserts(p_table text, p_rows jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.apply_inserts(p_table text, p_rows jsonb) TO authenticated;
GRANT ALL ON FUNCTION sync.apply_inserts(p_table text, p_rows jsonb) TO service_role;

REVOKE ALL ON FUNCTION sync.apply_run(p_groups jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.apply_run(p_groups jsonb) TO authenticated;
GRANT ALL ON FUNCTION sync.apply_run(p_groups jsonb) TO service_role;

REVOKE ALL ON FUNCTION sync.apply_update(p_table text, p_id uuid, p_values jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.apply_update(p_table text, p_id uuid, p_values jsonb) TO authenticated;
GRANT ALL ON FUNCTION sync.apply_update(p_table text, p_id uuid, p_values jsonb) TO service_role;

REVOKE ALL ON FUNCTION sync.checked_columns(p_table regclass, p_values jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.checked_columns(p_table regclass, p_values jsonb) TO authenticated;
GRANT ALL ON FUNCTION sync.checked_columns(p_table regclass, p_values jsonb) TO service_role;

REVOKE ALL ON FUNCTION sync.checked_columns(p_table regclass, p_values jsonb, p_op text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.checked_columns(p_table regclass, p_values jsonb, p_op text) TO authenticated;
GRANT ALL ON FUNCTION sync.checked_columns(p_table regclass, p_values jsonb, p_op text) TO service_role;

REVOKE ALL ON FUNCTION sync.checked_table(p_table text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.checked_table(p_table text) TO authenticated;
GRANT ALL ON FUNCTION sync.checked_table(p_table text) TO service_role;

REVOKE ALL ON FUNCTION sync.checksum(p_table text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.checksum(p_table text) TO authenticated;
GRANT ALL ON FUNCTION sync.checksum(p_table text) TO service_role;

REVOKE ALL ON FUNCTION sync.current_row(p_table text, p_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.current_row(p_table text, p_id uuid) TO authenticated;
GRANT ALL ON FUNCTION sync.current_row(p_table text, p_id uuid) TO service_role;

REVOKE ALL ON FUNCTION sync.cursor_expired(since pg_snapshot) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.cursor_expired(since pg_snapshot) TO service_role;

REVOKE ALL ON FUNCTION sync.log_change() FROM PUBLIC;

REVOKE ALL ON FUNCTION sync.log_deleted_rows() FROM PUBLIC;

REVOKE ALL ON FUNCTION sync.log_inserted_rows() FROM PUBLIC;

REVOKE ALL ON FUNCTION sync.log_ticket_scope(p_ticket uuid) FROM PUBLIC;

REVOKE ALL ON FUNCTION sync."normalize"(p_table text, p_values jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION sync."normalize"(p_table text, p_values jsonb) TO authenticated;
GRANT ALL ON FUNCTION sync."normalize"(p_table text, p_values jsonb) TO service_role;

REVOKE ALL ON FUNCTION sync.notify_change() FROM PUBLIC;

REVOKE ALL ON FUNCTION sync.prune_bookkeeping(keep interval) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.prune_bookkeeping(keep interval) TO service_role;

REVOKE ALL ON FUNCTION sync.prune_changes(keep interval) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.prune_changes(keep interval) TO service_role;

REVOKE ALL ON FUNCTION sync.pulled_table(p_table text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.pulled_table(p_table text) TO authenticated;
GRANT ALL ON FUNCTION sync.pulled_table(p_table text) TO service_role;

REVOKE ALL ON FUNCTION sync.pulled_tables() FROM PUBLIC;
GRANT ALL ON FUNCTION sync.pulled_tables() TO authenticated;
GRANT ALL ON FUNCTION sync.pulled_tables() TO service_role;

REVOKE ALL ON FUNCTION sync.rows_by_id(p_table text, p_ids uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.rows_by_id(p_table text, p_ids uuid[]) TO authenticated;
GRANT ALL ON FUNCTION sync.rows_by_id(p_table text, p_ids uuid[]) TO service_role;

REVOKE ALL ON FUNCTION sync.rows_page(p_table text, p_after uuid, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.rows_page(p_table text, p_after uuid, p_limit integer) TO authenticated;
GRANT ALL ON FUNCTION sync.rows_page(p_table text, p_after uuid, p_limit integer) TO service_role;

REVOKE ALL ON FUNCTION sync.visible_count(p_table text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.visible_count(p_table text) TO authenticated;
GRANT ALL ON FUNCTION sync.visible_count(p_table text) TO service_role;

REVOKE ALL ON FUNCTION sync.writable_columns(p_table text, p_op text) FROM PUBLIC;
GRANT ALL ON FUNCTION sync.writable_columns(p_table text, p_op text) TO authenticated;
GRANT ALL ON FUNCTION sync.writable_columns(p_table text, p_op text) TO service_role;

GRANT SELECT,INSERT,DELETE ON TABLE api.idempotency_keys TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE api.rate_buckets TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE api.webhook_deliveries TO service_role;

GRANT SELECT,INSERT,UPDATE ON TABLE api.webhook_secrets TO service_role;

GRANT USAGE ON SEQUENCE api.write_seq TO authenticated;
GRANT USAGE ON SEQUENCE api.write_seq TO service_role;

GRANT SELECT ON TABLE auth.access_policy TO authenticated;
GRANT SELECT ON TABLE auth.access_policy TO service_role;

GRANT UPDATE(offline_grace_days) ON TABLE auth.access_policy TO authenticated;

GRANT UPDATE(updated_by) ON TABLE auth.access_policy TO authenticated;

GRANT ALL ON TABLE auth.login_attempts TO service_role;

GRANT ALL ON TABLE auth.password_reset_codes TO service_role;

GRANT ALL ON TABLE auth.refresh_tokens TO service_role;

GRANT ALL ON TABLE auth.sessions TO service_role;

GRANT ALL ON TABLE auth.users TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.acquisition_stages TO authenticated;
GRANT ALL ON TABLE public.acquisition_stages TO service_role;

GRANT SELECT ON TABLE public.audit_history TO authenticated;
GRANT ALL ON TABLE public.audit_history TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.customer_interactions TO authenticated;
GRANT ALL ON TABLE public.customer_interactions TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.customers TO authenticated;
GRANT ALL ON TABLE public.customers TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.products TO authenticated;
GRANT ALL ON TABLE public.products TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.tickets TO authenticated;
GRANT ALL ON TABLE public.tickets TO service_role;

GRANT SELECT ON TABLE public.customer_summary TO authenticated;
GRANT SELECT ON TABLE public.customer_summary TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.integration_tokens TO authenticated;
GRANT ALL ON TABLE public.integration_tokens TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.profiles TO authenticated;
GRANT ALL ON TABLE public.profiles TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.ticket_assignees TO authenticated;
GRANT ALL ON TABLE public.ticket_assignees TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.ticket_attachments TO authenticated;
GRANT ALL ON TABLE public.ticket_attachments TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.ticket_comments TO authenticated;
GRANT ALL ON TABLE public.ticket_comments TO service_role;

GRANT SELECT ON TABLE public.ticket_summary TO authenticated;
GRANT SELECT ON TABLE public.ticket_summary TO service_role;

GRANT SELECT ON TABLE public.ticket_workflow_history TO authenticated;
GRANT ALL ON TABLE public.ticket_workflow_history TO service_role;

GRANT SELECT ON TABLE public.user_workload TO authenticated;
GRANT SELECT ON TABLE public.user_workload TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.webhook_subscriptions TO authenticated;
GRANT SELECT,UPDATE ON TABLE public.webhook_subscriptions TO service_role;

GRANT SELECT ON TABLE storage.buckets TO authenticated;
GRANT ALL ON TABLE storage.buckets TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE storage.objects TO authenticated;
GRANT ALL ON TABLE storage.objects TO service_role;

GRANT ALL ON TABLE sync.changes TO service_role;

GRANT ALL ON TABLE sync.client_mutations TO service_role;

GRANT ALL ON TABLE sync.clients TO service_role;

GRANT ALL ON TABLE sync.conflicts TO service_role;
GRANT SELECT ON TABLE sync.conflicts TO authenticated;

GRANT UPDATE(resolved_at) ON TABLE sync.conflicts TO authenticated;

GRANT UPDATE(resolution) ON TABLE sync.conflicts TO authenticated;

GRANT ALL ON TABLE sync.field_clock TO service_role;

GRANT SELECT ON TABLE sync.log_horizon TO service_role;

GRANT SELECT ON TABLE sync.synced_tables TO authenticated;
GRANT SELECT ON TABLE sync.synced_tables TO service_role;

ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON FUNCTIONS  FROM PUBLIC;

