-- A follow-up can be done.
--
-- Why: a follow-up could only be moved or deleted, so overdue ones only
-- accumulated and "overdue follow-ups" counted work already done. Now an
-- interaction's follow-up is marked done (`follow_up_done_at`, when it was
-- done), synced and audited like any other change; moving it to a new date
-- is a reschedule (the app clears the mark with it). Done follow-ups leave
-- the reminders and the "overdue" and "next 7 days" figures, and stay in
-- the customer's story as done.

ALTER TABLE public.customer_interactions ADD COLUMN follow_up_done_at timestamptz;

-- Done is said of a follow-up: no date, nothing to be done.
ALTER TABLE public.customer_interactions ADD CONSTRAINT customer_interactions_follow_up_done_has_date
    CHECK (follow_up_done_at IS NULL OR follow_up_date IS NOT NULL);

-- When it was done is the agent's time (offline work keeps its time), but
-- never later than the server's clock, as for creation times.
CREATE FUNCTION public.clamp_follow_up_done() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    -- LEAST ignores NULLs: "not done" must stay NULL.
    IF NEW.follow_up_done_at IS NOT NULL THEN
        NEW.follow_up_done_at := LEAST(NEW.follow_up_done_at, now());
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION public.clamp_follow_up_done() FROM PUBLIC;
CREATE TRIGGER customer_interactions_follow_up_done
    BEFORE INSERT OR UPDATE OF follow_up_done_at ON public.customer_interactions
    FOR EACH ROW EXECUTE FUNCTION public.clamp_follow_up_done();

-- The open follow-ups, for reminders and figures.
DROP INDEX public.customer_interactions_follow_up_idx;
CREATE INDEX customer_interactions_follow_up_idx ON public.customer_interactions (follow_up_date)
    WHERE follow_up_date IS NOT NULL AND follow_up_done_at IS NULL;

CREATE OR REPLACE FUNCTION public.get_dashboard_data() RETURNS jsonb
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

CREATE OR REPLACE VIEW public.customer_summary WITH (security_invoker = true) AS
SELECT
    c.id, c.name, c.email, c.phone, c.status, c.acquisition_stage,
    c.owner, public.colleague_name(c.owner) AS owner_name,
    c.product_id, p.name AS product_name,
    c.is_archived, c.created_at, c.updated_at,
    coalesce(i.interaction_count, 0) AS interaction_count,
    i.last_interaction_at,
    i.next_follow_up_at,
    coalesce(t.ticket_count, 0) AS ticket_count,
    coalesce(t.open_ticket_count, 0) AS open_ticket_count
FROM public.customers c
LEFT JOIN public.products p ON p.id = c.product_id
LEFT JOIN LATERAL (
    SELECT count(*) AS interaction_count,
           max(ci.created_at) AS last_interaction_at,
           min(ci.follow_up_date) FILTER (WHERE ci.follow_up_date >= now() AND ci.follow_up_done_at IS NULL)
               AS next_follow_up_at
    FROM public.customer_interactions ci
    WHERE ci.customer_id = c.id
) i ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS ticket_count,
           count(*) FILTER (WHERE tk.status NOT IN ('resolved', 'closed')) AS open_ticket_count
    FROM public.tickets tk
    WHERE tk.customer_id = c.id
) t ON true;

CREATE OR REPLACE VIEW public.user_workload WITH (security_invoker = true) AS
SELECT
    p.id AS user_id, p.full_name, p.role,
    (SELECT count(*) FROM public.tickets t
      WHERE t.status NOT IN ('resolved', 'closed')
        AND (t.assigned_to = p.id
             OR EXISTS (SELECT 1 FROM public.ticket_assignees a WHERE a.ticket_id = t.id AND a.user_id = p.id)))
        AS open_tickets,
    (SELECT count(*) FROM public.tickets t
      WHERE t.status NOT IN ('resolved', 'closed') AND t.priority IN ('high', 'urgent')
        AND (t.assigned_to = p.id
             OR EXISTS (SELECT 1 FROM public.ticket_assignees a WHERE a.ticket_id = t.id AND a.user_id = p.id)))
        AS high_priority_open_tickets,
    (SELECT count(*) FROM public.tickets t
      WHERE t.resolved_at >= now() - interval '30 days'
        AND (t.assigned_to = p.id
             OR EXISTS (SELECT 1 FROM public.ticket_assignees a WHERE a.ticket_id = t.id AND a.user_id = p.id)))
        AS resolved_last_30_days,
    (SELECT count(*) FROM public.customers c WHERE c.owner = p.id AND NOT c.is_archived) AS owned_customers,
    (SELECT count(*) FROM public.customer_interactions i
       JOIN public.customers c ON c.id = i.customer_id
      WHERE c.owner = p.id AND i.follow_up_date >= now() AND i.follow_up_date < now() + interval '7 days'
        AND i.follow_up_done_at IS NULL)
        AS follow_ups_next_7_days
FROM public.profiles p;
