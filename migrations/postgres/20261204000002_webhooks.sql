-- Webhooks (issue 13): other systems hear what changed.
--
-- A person subscribes a URL to event types. Every change that makes an
-- event writes one delivery per interested subscription, in the change's
-- own transaction (a transactional outbox: no event without its change, no
-- change without its events). The server's workers deliver them, signed in
-- the Standard Webhooks format, at least once, in order per record,
-- retrying with backoff for a day; what the subscriber may not see when
-- it is delivered (row-level security, as the subscriber) is skipped.
--
-- Decisions where the issue is silent, with least privilege:
-- * only people subscribe (a token never does); a subscription hears what
--   its creator may see, so an admin's hears everything;
-- * internal comments are sent only to subscriptions that ask for them;
-- * the signing secret is the server's (api.webhook_secrets, never in a
--   row its owner lists, never audited); shown once, at creation;
-- * deletions make no events (what was deleted can no longer be checked
--   against the subscriber's rights).

CREATE TABLE public.webhook_subscriptions (
    id               uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    url              text NOT NULL CHECK (url ~ '^https?://[^/@\s]+(/\S*)?$' AND length(url) <= 2000),
    event_types      text[] NOT NULL CHECK (
                         cardinality(event_types) > 0
                         AND event_types <@ ARRAY[
                             'customer.created', 'customer.updated', 'customer.archived',
                             'interaction.logged',
                             'ticket.created', 'ticket.updated', 'ticket.status_changed', 'ticket.assigned',
                             'comment.added']::text[]),
    description      text CHECK (length(description) <= 500),
    include_internal boolean NOT NULL DEFAULT false,
    is_active        boolean NOT NULL DEFAULT true,
    -- Why the server stopped it (deliveries failing for a day), if it did.
    disabled_reason  text,
    disabled_at      timestamptz,
    created_by       uuid NOT NULL DEFAULT auth.uid() REFERENCES public.profiles (id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_created_by_idx ON public.webhook_subscriptions (created_by);
ALTER TABLE public.webhook_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.webhook_subscriptions FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.webhook_subscriptions TO authenticated;
GRANT SELECT, UPDATE ON public.webhook_subscriptions TO service_role;

-- Their owner manages them; an admin sees and removes anyone's. Never
-- through a token.
CREATE POLICY webhook_subscriptions_select ON public.webhook_subscriptions FOR SELECT TO authenticated
    USING ((created_by = (SELECT auth.uid()) OR (SELECT public.is_admin()))
           AND (SELECT public.is_personal_session()));
CREATE POLICY webhook_subscriptions_insert ON public.webhook_subscriptions FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid()) AND (SELECT public.is_personal_session()));
CREATE POLICY webhook_subscriptions_update ON public.webhook_subscriptions FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid()) AND (SELECT public.is_personal_session()))
    WITH CHECK (created_by = (SELECT auth.uid()) AND (SELECT public.is_personal_session()));
CREATE POLICY webhook_subscriptions_delete ON public.webhook_subscriptions FOR DELETE TO authenticated
    USING ((created_by = (SELECT auth.uid()) OR (SELECT public.is_admin()))
           AND (SELECT public.is_personal_session()));

CREATE TRIGGER webhook_subscriptions_immutable BEFORE UPDATE ON public.webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'created_by', 'created_at');
CREATE TRIGGER webhook_subscriptions_updated_at BEFORE UPDATE ON public.webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE TRIGGER webhook_subscriptions_audit_insert AFTER INSERT ON public.webhook_subscriptions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_inserted_rows();
CREATE TRIGGER webhook_subscriptions_audit_update AFTER UPDATE ON public.webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();
CREATE TRIGGER webhook_subscriptions_audit_delete AFTER DELETE ON public.webhook_subscriptions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.audit_deleted_rows();

-- The signing secrets: the server's alone.
CREATE TABLE api.webhook_secrets (
    subscription_id uuid PRIMARY KEY REFERENCES public.webhook_subscriptions (id) ON DELETE CASCADE,
    secret          text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/=]{32,}$')
);
ALTER TABLE api.webhook_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE api.webhook_secrets FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE ON api.webhook_secrets TO service_role;

-- One event for one subscription, and how delivering it went.
CREATE TABLE api.webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES public.webhook_subscriptions (id) ON DELETE CASCADE,
    event_type      text NOT NULL,
    -- The row the event is about, and the record whose events go in order
    -- (a comment's ticket, say).
    table_name      text,
    row_id          uuid,
    record_id       uuid NOT NULL,
    data            jsonb NOT NULL,
    changes         jsonb,
    internal        boolean NOT NULL DEFAULT false,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    state           text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts        integer NOT NULL DEFAULT 0,
    -- Retries stop a day (by default) after this: its first queueing, or a replay.
    queued_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A worker's claim: no other worker takes it before then.
    locked_until    timestamptz,
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON api.webhook_deliveries (next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_record_idx ON api.webhook_deliveries (subscription_id, record_id, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_subscription_idx ON api.webhook_deliveries (subscription_id, id);
ALTER TABLE api.webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE api.webhook_deliveries FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON api.webhook_deliveries TO service_role;

-- The events of a change, one delivery per interested subscription, in
-- the change's transaction; a notification wakes the workers at commit.
CREATE FUNCTION api.record_webhook_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
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
REVOKE ALL ON FUNCTION api.record_webhook_events() FROM PUBLIC;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'customer_interactions', 'tickets', 'ticket_assignees', 'ticket_comments'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE ON public.%I
                        FOR EACH ROW EXECUTE FUNCTION api.record_webhook_events()', t || '_webhooks', t);
    END LOOP;
END
$$;

-- Which of these rows the caller may see: the delivery worker asks once
-- per subscriber and table for a whole batch, as the subscriber.
CREATE FUNCTION api.visible_ids(p_table text, p_ids uuid[]) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $_$
BEGIN
    RETURN QUERY EXECUTE format('SELECT t.id FROM %s t WHERE t.id = ANY ($1)', sync.checked_table(p_table))
        USING p_ids;
END
$_$;
REVOKE ALL ON FUNCTION api.visible_ids(text, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.visible_ids(text, uuid[]) TO authenticated;
