-- 5/5 Seed data and the summary views.
--
-- Every view is `security_invoker`: it reads its tables with the caller's
-- rights, so no view shows a row the caller's policies hide. Colleagues'
-- names come through colleague_name(), the one narrow window onto other
-- profiles.

INSERT INTO public.acquisition_stages (name, order_index) VALUES
    ('lead', 0), ('qualified', 1), ('proposal', 2),
    ('negotiation', 3), ('closed_won', 4), ('closed_lost', 5)
ON CONFLICT (name) DO NOTHING;

-- Two active products and one retired: the catalog has room for one more
-- active product before the limit of three.
INSERT INTO public.products (name, description, is_active) VALUES
    ('Field Service Basic', 'Scheduling and work orders for small field teams.', true),
    ('Field Service Pro', 'Everything in Basic, plus routing, SLAs and reporting.', true),
    ('Legacy Dispatch', 'The previous product line, kept for existing customers.', false);

CREATE VIEW public.customer_summary WITH (security_invoker = true) AS
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
           min(ci.follow_up_date) FILTER (WHERE ci.follow_up_date >= now()) AS next_follow_up_at
    FROM public.customer_interactions ci
    WHERE ci.customer_id = c.id
) i ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS ticket_count,
           count(*) FILTER (WHERE tk.status NOT IN ('resolved', 'closed')) AS open_ticket_count
    FROM public.tickets tk
    WHERE tk.customer_id = c.id
) t ON true;

CREATE VIEW public.ticket_summary WITH (security_invoker = true) AS
SELECT
    t.id, t.title, t.priority, t.status,
    t.customer_id, c.name AS customer_name,
    t.assigned_to, public.colleague_name(t.assigned_to) AS assigned_to_name,
    t.created_by, public.colleague_name(t.created_by) AS created_by_name,
    t.created_at, t.updated_at, t.resolved_at, t.closed_at,
    coalesce(cm.comment_count, 0) AS comment_count,
    coalesce(a.attachment_count, 0) AS attachment_count,
    coalesce(s.assignee_count, 0) AS assignee_count,
    greatest(t.updated_at, cm.last_comment_at) AS last_activity_at,
    round((extract(epoch FROM coalesce(t.closed_at, now()) - t.created_at) / 3600)::numeric, 1) AS age_hours
FROM public.tickets t
LEFT JOIN public.customers c ON c.id = t.customer_id
LEFT JOIN LATERAL (
    SELECT count(*) AS comment_count, max(tc.created_at) AS last_comment_at
    FROM public.ticket_comments tc WHERE tc.ticket_id = t.id
) cm ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS attachment_count FROM public.ticket_attachments ta WHERE ta.ticket_id = t.id
) a ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS assignee_count FROM public.ticket_assignees tas WHERE tas.ticket_id = t.id
) s ON true;

CREATE VIEW public.user_workload WITH (security_invoker = true) AS
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
      WHERE c.owner = p.id AND i.follow_up_date >= now() AND i.follow_up_date < now() + interval '7 days')
        AS follow_ups_next_7_days
FROM public.profiles p;

GRANT SELECT ON public.customer_summary, public.ticket_summary, public.user_workload TO authenticated, service_role;
