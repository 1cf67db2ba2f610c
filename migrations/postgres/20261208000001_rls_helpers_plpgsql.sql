-- The helpers row-level security calls on every query, in PL/pgSQL.
--
-- They were SQL functions with a pinned search_path (and most SECURITY
-- DEFINER), which PostgreSQL cannot inline; before version 18 it then
-- parses and plans a SQL function's body again in every query that calls
-- it. `token_permits` (two such functions deep) cost ~0.75 ms in each
-- statement an integration ran, `is_admin` ~0.3 ms in each query that
-- needed it: more than the rest of a small query. PL/pgSQL keeps its plans
-- for the life of the connection, so a call costs tens of microseconds.
-- The bodies, the rights (SECURITY DEFINER where it was), the volatility
-- and the pinned search_path are unchanged: only the language is.

CREATE OR REPLACE FUNCTION public.current_user_role() RETURNS public.user_role
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    RETURN (SELECT role FROM public.profiles WHERE id = auth.uid());
END
$$;

CREATE OR REPLACE FUNCTION public.is_admin() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    RETURN coalesce(
        (SELECT role = 'admin' FROM public.profiles WHERE id = auth.uid()), false);
END
$$;

CREATE OR REPLACE FUNCTION public.is_ticket_assignee(p_ticket_id uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM public.ticket_assignees a
                   WHERE a.ticket_id = p_ticket_id AND a.user_id = auth.uid());
END
$$;

CREATE OR REPLACE FUNCTION public.can_access_customer(p_customer_id uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    RETURN public.is_admin()
        OR EXISTS (SELECT 1 FROM public.customers c
                   WHERE c.id = p_customer_id AND c.owner = auth.uid());
END
$$;

CREATE OR REPLACE FUNCTION public.can_access_ticket(p_ticket_id uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
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

CREATE OR REPLACE FUNCTION public.is_personal_session() RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
BEGIN
    RETURN auth.uid() IS NOT NULL AND auth.integration_token_id() IS NULL;
END
$$;

CREATE OR REPLACE FUNCTION public.integration_token_allows(p_token_id uuid, p_permission text)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
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

CREATE OR REPLACE FUNCTION public.token_permits(p_permission text) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public
AS $$
DECLARE
    token uuid := auth.integration_token_id();
BEGIN
    RETURN token IS NULL OR public.integration_token_allows(token, p_permission);
END
$$;
