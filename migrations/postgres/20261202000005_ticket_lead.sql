-- One assignment model for tickets: the assignees work on a ticket, and
-- `tickets.assigned_to` is its lead, always one of them.
--
-- Why: the seed has both `tickets.assigned_to` and `ticket_assignees`, and
-- nothing related them. The ticket list read one, the ticket page the
-- other, so for the same ticket the list said "Ben Agent" and the page
-- "Nobody is assigned", and "my open tickets" disagreed with the list.
-- The rule (crm_domain::assignment, which the desktop core records changes
-- by) is:
--   - the lead is always among the assignees;
--   - a ticket has a lead exactly when it has assignees;
--   - the first assignee of a ticket nobody led becomes its lead;
--   - removing the lead hands the ticket to the assignee who has been on it
--     longest (earliest assigned_at, then id).
-- These triggers hold every writer to it (sync, the integration API, psql),
-- so a client that records the same steps itself finds them already done
-- (an update to the value the server already has changes nothing).
--
-- They are SECURITY DEFINER because the consequence must follow whatever
-- the caller was allowed to do: an agent who leads a ticket they did not
-- create may remove themselves (the delete policy allows it); the lead then
-- passes to a colleague, an update the agent could no longer pass the
-- tickets policy's WITH CHECK for, having just left the ticket. Each
-- decides only from the rows it is given, and pins search_path.

-- The assignee who should lead when `p_without` leaves (or clears the lead).
CREATE FUNCTION public.next_ticket_lead(p_ticket uuid, p_without uuid) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
    SELECT a.user_id FROM public.ticket_assignees a
    WHERE a.ticket_id = p_ticket AND a.user_id IS DISTINCT FROM p_without
    ORDER BY a.assigned_at, a.id
    LIMIT 1
$$;

-- BEFORE UPDATE OF assigned_to: a ticket with assignees always has a lead,
-- so clearing it (or a lead's account being removed: ON DELETE SET NULL)
-- passes the ticket on.
CREATE FUNCTION public.ticket_lead_kept() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    IF NEW.assigned_to IS NULL AND OLD.assigned_to IS NOT NULL THEN
        NEW.assigned_to := public.next_ticket_lead(NEW.id, OLD.assigned_to);
    END IF;
    RETURN NEW;
END
$$;

-- AFTER INSERT OR UPDATE OF assigned_to: the lead is an assignee.
CREATE FUNCTION public.ticket_lead_is_assignee() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
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

-- AFTER INSERT on ticket_assignees: the first assignee leads.
CREATE FUNCTION public.ticket_lead_on_assign() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    UPDATE public.tickets SET assigned_to = NEW.user_id
    WHERE id = NEW.ticket_id AND assigned_to IS NULL;
    RETURN NULL;
END
$$;

-- AFTER DELETE on ticket_assignees: the lead who leaves passes the ticket
-- on (through ticket_lead_kept), or leaves it without a lead if nobody is
-- left. A ticket being deleted takes its assignees with it: it is no longer
-- there to update.
CREATE FUNCTION public.ticket_lead_on_unassign() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    UPDATE public.tickets SET assigned_to = NULL
    WHERE id = OLD.ticket_id AND assigned_to = OLD.user_id;
    RETURN NULL;
END
$$;

-- AFTER UPDATE OF user_id on ticket_assignees (an admin correcting who an
-- assignment is for): a lead's row moved to someone else moves the lead.
CREATE FUNCTION public.ticket_lead_on_reassign() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    UPDATE public.tickets SET assigned_to = NEW.user_id
    WHERE id = NEW.ticket_id AND assigned_to = OLD.user_id;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION public.next_ticket_lead(uuid, uuid), public.ticket_lead_kept(),
    public.ticket_lead_is_assignee(), public.ticket_lead_on_assign(),
    public.ticket_lead_on_unassign(), public.ticket_lead_on_reassign() FROM PUBLIC;

CREATE TRIGGER tickets_lead_kept BEFORE UPDATE OF assigned_to ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.ticket_lead_kept();
CREATE TRIGGER tickets_lead_is_assignee AFTER INSERT OR UPDATE OF assigned_to ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.ticket_lead_is_assignee();
CREATE TRIGGER ticket_assignees_lead_on_assign AFTER INSERT ON public.ticket_assignees
    FOR EACH ROW EXECUTE FUNCTION public.ticket_lead_on_assign();
CREATE TRIGGER ticket_assignees_lead_on_unassign AFTER DELETE ON public.ticket_assignees
    FOR EACH ROW EXECUTE FUNCTION public.ticket_lead_on_unassign();
CREATE TRIGGER ticket_assignees_lead_on_reassign AFTER UPDATE OF user_id ON public.ticket_assignees
    FOR EACH ROW EXECUTE FUNCTION public.ticket_lead_on_reassign();

-- Existing tickets follow the rule: a lead who is not an assignee becomes
-- one (assigned by the ticket's creator, when the ticket was made), and a
-- ticket with assignees but no lead gets its longest-serving one. These
-- changes are audited with no actor (the system), and reach every replica
-- through the change log like any other.
INSERT INTO public.ticket_assignees (ticket_id, user_id, assigned_at, assigned_by)
SELECT t.id, t.assigned_to, t.created_at, t.created_by
FROM public.tickets t
WHERE t.assigned_to IS NOT NULL
ON CONFLICT (ticket_id, user_id) DO NOTHING;

UPDATE public.tickets t SET assigned_to = public.next_ticket_lead(t.id, NULL)
WHERE t.assigned_to IS NULL
  AND EXISTS (SELECT 1 FROM public.ticket_assignees a WHERE a.ticket_id = t.id);
