-- 3/5 Database logic: timestamps, audit, the ticket workflow, profile
-- creation, the product limit, column guards, and the stats functions.
--
-- SECURITY DEFINER is used only where a trigger must write a table its caller
-- may not (audit, workflow history, profiles) or read past RLS (the product
-- count); each such function pins search_path and decides from auth.uid()
-- itself. The stats functions are SECURITY INVOKER: RLS decides what they
-- count.

---------------------------------------------------------------------------
-- updated_at
---------------------------------------------------------------------------
CREATE FUNCTION public.update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER users_updated_at BEFORE UPDATE ON auth.users
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE TRIGGER profiles_updated_at BEFORE UPDATE ON public.profiles
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE TRIGGER products_updated_at BEFORE UPDATE ON public.products
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE TRIGGER customers_updated_at BEFORE UPDATE ON public.customers
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE TRIGGER customer_interactions_updated_at BEFORE UPDATE ON public.customer_interactions
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE TRIGGER tickets_updated_at BEFORE UPDATE ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE TRIGGER ticket_comments_updated_at BEFORE UPDATE ON public.ticket_comments
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

---------------------------------------------------------------------------
-- Audit: one row per changed row, with the whole old and new row, the actor
-- from the claims, and the integration token when the change came through
-- one. An UPDATE that changes nothing but updated_at is not a change and
-- writes nothing. Secrets (token_hash) never enter the history.
---------------------------------------------------------------------------
CREATE FUNCTION public.create_audit_history() RETURNS trigger
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
        (table_name, record_id, action, old_values, new_values, changed_by, integration_token_id)
    VALUES
        (TG_TABLE_NAME, (coalesce(new_row, old_row) ->> 'id')::uuid, TG_OP,
         old_row, new_row, auth.uid(), auth.integration_token_id());
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'profiles', 'products', 'acquisition_stages', 'customers',
        'customer_interactions', 'tickets', 'ticket_assignees',
        'ticket_comments', 'ticket_attachments', 'integration_tokens'
    ] LOOP
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON public.%I '
            'FOR EACH ROW EXECUTE FUNCTION public.create_audit_history()',
            t || '_audit', t);
    END LOOP;
END
$$;

---------------------------------------------------------------------------
-- Ticket workflow. The allowed moves mirror crm-domain's state machine
-- (domain/src/workflow.rs); a test compares the two pair by pair.
---------------------------------------------------------------------------
CREATE FUNCTION public.ticket_status_transition_allowed(p_from public.ticket_status, p_to public.ticket_status)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public
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
GRANT EXECUTE ON FUNCTION public.ticket_status_transition_allowed(public.ticket_status, public.ticket_status)
    TO authenticated, service_role;

-- One function, two triggers. BEFORE: refuse a move the workflow forbids and
-- derive resolved_at / closed_at (callers never write them). AFTER: record
-- the move in ticket_workflow_history (creation included, from NULL), with
-- an optional note from the transaction setting `crm.status_note`.
CREATE FUNCTION public.log_ticket_status_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
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

CREATE TRIGGER tickets_status_before BEFORE INSERT OR UPDATE ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.log_ticket_status_change();
CREATE TRIGGER tickets_status_after AFTER INSERT OR UPDATE OF status ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.log_ticket_status_change();

---------------------------------------------------------------------------
-- A ticket may only be linked to a customer its writer can see. A trigger,
-- not a policy, because an assignee who cannot see the customer must still
-- be able to update a ticket whose link they leave unchanged.
---------------------------------------------------------------------------
CREATE FUNCTION public.check_ticket_customer_access() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
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

CREATE TRIGGER tickets_customer_access BEFORE INSERT OR UPDATE OF customer_id ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.check_ticket_customer_access();

---------------------------------------------------------------------------
-- Columns fixed once written: who created a row, when, and what it hangs
-- off. Policies see only the new row; this sees the old one too.
---------------------------------------------------------------------------
CREATE FUNCTION public.enforce_immutable_columns() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
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

CREATE TRIGGER profiles_immutable BEFORE UPDATE ON public.profiles
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_at');
CREATE TRIGGER products_immutable BEFORE UPDATE ON public.products
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_at');
CREATE TRIGGER acquisition_stages_immutable BEFORE UPDATE ON public.acquisition_stages
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_at');
CREATE TRIGGER customers_immutable BEFORE UPDATE ON public.customers
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_at');
CREATE TRIGGER customer_interactions_immutable BEFORE UPDATE ON public.customer_interactions
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_by', 'created_at');
CREATE TRIGGER tickets_immutable BEFORE UPDATE ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_by', 'created_at');
CREATE TRIGGER ticket_assignees_immutable BEFORE UPDATE ON public.ticket_assignees
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'ticket_id', 'assigned_by', 'assigned_at');
CREATE TRIGGER ticket_comments_immutable BEFORE UPDATE ON public.ticket_comments
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'ticket_id', 'created_by', 'created_at');
CREATE TRIGGER ticket_attachments_immutable BEFORE UPDATE ON public.ticket_attachments
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'ticket_id', 'file_path', 'uploaded_by', 'uploaded_at');
CREATE TRIGGER integration_tokens_immutable BEFORE UPDATE ON public.integration_tokens
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'token_hash', 'created_by', 'created_at');

---------------------------------------------------------------------------
-- Profiles: created with the account, as an agent; only admins change roles
-- or emails (the email follows auth.users), and the last admin stays one.
---------------------------------------------------------------------------
CREATE FUNCTION public.handle_new_user() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
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
SET search_path = pg_catalog, public
AS $$
BEGIN
    UPDATE public.profiles SET email = NEW.email WHERE id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
    FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
CREATE TRIGGER on_auth_user_email_changed AFTER UPDATE OF email ON auth.users
    FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email)
    EXECUTE FUNCTION public.handle_user_email_change();

CREATE FUNCTION public.protect_profile_columns() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
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
        -- Serialise demotions so that two admins demoting each other at once
        -- cannot leave the team without one.
        PERFORM pg_advisory_xact_lock(hashtext('crm.profiles.admin_demotion'));
        IF NOT EXISTS (SELECT 1 FROM public.profiles
                       WHERE role = 'admin' AND id <> OLD.id) THEN
            RAISE EXCEPTION 'the last admin cannot stop being one'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER profiles_protect_columns BEFORE UPDATE ON public.profiles
    FOR EACH ROW EXECUTE FUNCTION public.protect_profile_columns();

---------------------------------------------------------------------------
-- At most three active products, also under concurrency. Every activation
-- first updates one guard row: under READ COMMITTED a second transaction
-- waits for the first to commit and its count (a new snapshot) then sees the
-- first's product; under REPEATABLE READ or SERIALIZABLE it fails with a
-- serialization error instead of counting from a stale snapshot.
---------------------------------------------------------------------------
CREATE SCHEMA crm_private;
REVOKE ALL ON SCHEMA crm_private FROM PUBLIC;

CREATE TABLE crm_private.product_activation_guard (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    activations bigint NOT NULL DEFAULT 0
);
INSERT INTO crm_private.product_activation_guard DEFAULT VALUES;
ALTER TABLE crm_private.product_activation_guard ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_private.product_activation_guard FORCE ROW LEVEL SECURITY;

CREATE FUNCTION public.enforce_max_active_products() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
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

CREATE TRIGGER products_max_active BEFORE INSERT OR UPDATE OF is_active ON public.products
    FOR EACH ROW EXECUTE FUNCTION public.enforce_max_active_products();

---------------------------------------------------------------------------
-- Integration tokens: permissions kept sorted and unique, a new token cannot
-- be born expired.
---------------------------------------------------------------------------
CREATE FUNCTION public.validate_integration_token_permissions() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    NEW.permissions := ARRAY(SELECT DISTINCT p FROM unnest(NEW.permissions) p WHERE p IS NOT NULL ORDER BY p);
    IF cardinality(NEW.permissions) = 0 THEN
        RAISE EXCEPTION 'an integration token needs at least one permission'
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'INSERT' AND NEW.expires_at IS NOT NULL AND NEW.expires_at <= now() THEN
        RAISE EXCEPTION 'an integration token cannot expire in the past'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER integration_tokens_validate BEFORE INSERT OR UPDATE ON public.integration_tokens
    FOR EACH ROW EXECUTE FUNCTION public.validate_integration_token_permissions();

---------------------------------------------------------------------------
-- Colleagues: what every signed-in user may know of the others (for
-- assignment pickers and names on tickets): id, name, avatar, role. Never
-- the email.
---------------------------------------------------------------------------
CREATE FUNCTION public.get_colleagues()
RETURNS TABLE (id uuid, full_name text, avatar_url text, role public.user_role)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT p.id, p.full_name, p.avatar_url, p.role
    FROM public.profiles p
    WHERE auth.uid() IS NOT NULL
    ORDER BY p.full_name NULLS LAST, p.id
$$;

CREATE FUNCTION public.colleague_name(p_user_id uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT p.full_name FROM public.profiles p
    WHERE p.id = p_user_id AND auth.uid() IS NOT NULL
$$;

---------------------------------------------------------------------------
-- Stats, over the rows the caller may see (SECURITY INVOKER: RLS applies).
---------------------------------------------------------------------------
CREATE FUNCTION public.get_customer_stats() RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
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

CREATE FUNCTION public.get_ticket_stats() RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
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

CREATE FUNCTION public.get_dashboard_data() RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
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
            WHERE i.follow_up_date < now()),
        'follow_ups_next_7_days', (
            SELECT count(*) FROM public.customer_interactions i
            WHERE i.follow_up_date >= now() AND i.follow_up_date < now() + interval '7 days'),
        'interactions_last_7_days', (
            SELECT count(*) FROM public.customer_interactions i
            WHERE i.created_at >= now() - interval '7 days'),
        'generated_at', now())
$$;

---------------------------------------------------------------------------
-- Where an attachment's bytes live: the object path in the
-- `ticket-attachments` bucket, for callers who may see the ticket; anyone
-- else is told it does not exist, so existence does not leak either.
---------------------------------------------------------------------------
CREATE FUNCTION public.get_ticket_attachment_url(p_attachment_id uuid) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public
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

GRANT EXECUTE ON FUNCTION
    public.get_colleagues(), public.colleague_name(uuid),
    public.get_customer_stats(), public.get_ticket_stats(), public.get_dashboard_data(),
    public.get_ticket_attachment_url(uuid)
    TO authenticated, service_role;
