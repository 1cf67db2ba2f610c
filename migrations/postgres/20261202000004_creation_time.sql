-- Offline work keeps its time.
--
-- Why: a customer, interaction, ticket, comment, assignment or attachment
-- made offline took the server's now() when it synced, so a call logged on
-- Monday and synced on Wednesday read Wednesday, and "interactions in the
-- last 7 days" and a customer's story went wrong. Clients now send the time
-- the agent did the thing (for an interaction, the agent may say when it
-- happened) in the row's creation column, which the sync protocol lets a
-- client write on insert only (crm_domain::protocol::SyncTable::
-- creation_column); the immutability triggers keep it fixed after that.
--
-- The database bounds it: a row cannot have been made after the statement
-- that inserts it, whoever inserts it (sync, the integration API, psql), so
-- a clock running ahead cannot put work in the future. This is the same
-- clamp the sync server applies to an edit's `edited_at`. The audit row
-- keeps the server's own time (`audit_history.created_at` is never taken
-- from the client), so the trail still says when the server learned of it.

CREATE FUNCTION public.clamp_creation_time() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
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

REVOKE ALL ON FUNCTION public.clamp_creation_time() FROM PUBLIC;

CREATE TRIGGER customers_creation_time BEFORE INSERT ON public.customers
    FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('created_at');
CREATE TRIGGER customer_interactions_creation_time BEFORE INSERT ON public.customer_interactions
    FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('created_at');
CREATE TRIGGER tickets_creation_time BEFORE INSERT ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('created_at');
CREATE TRIGGER ticket_comments_creation_time BEFORE INSERT ON public.ticket_comments
    FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('created_at');
CREATE TRIGGER ticket_assignees_creation_time BEFORE INSERT ON public.ticket_assignees
    FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('assigned_at');
CREATE TRIGGER ticket_attachments_creation_time BEFORE INSERT ON public.ticket_attachments
    FOR EACH ROW EXECUTE FUNCTION public.clamp_creation_time('uploaded_at');
