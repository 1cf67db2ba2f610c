-- 2/5 Security: table privileges, row-level security on every table, and the
-- small predicates the policies share.
--
-- The access rules in one table (role × table × operation) are in
-- docs/security-model.md; keep the two in step. Where the spec is silent the
-- choice is least privilege, and the doc says so.
--
-- Requests run as the PostgreSQL role `authenticated` with the caller's claims
-- in `request.jwt.claims`; `service_role` and superusers bypass RLS. A request
-- made with an integration token carries `integration_token_id` in its claims
-- and is further limited to the token's permissions.

---------------------------------------------------------------------------
-- Privileges: RLS narrows rows, these grants say which operations exist at
-- all. Trigger-written tables (workflow history, audit) are read-only.
---------------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON
    public.profiles, public.products, public.acquisition_stages, public.customers,
    public.customer_interactions, public.tickets, public.ticket_assignees,
    public.ticket_comments, public.ticket_attachments, public.integration_tokens
    TO authenticated;
GRANT SELECT ON public.ticket_workflow_history, public.audit_history TO authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role;

---------------------------------------------------------------------------
-- Predicates about the caller. SECURITY DEFINER so that a policy on one table
-- can ask about another without recursing into that table's policies; each
-- pins search_path and answers only about auth.uid() itself.
---------------------------------------------------------------------------
CREATE FUNCTION public.current_user_role() RETURNS public.user_role
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT role FROM public.profiles WHERE id = auth.uid()
$$;

CREATE FUNCTION public.is_admin() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT coalesce(public.current_user_role() = 'admin', false)
$$;

-- True for sessions that bypass RLS (superusers, service_role): the column
-- guards of migration 3 follow the same line as the policies.
CREATE FUNCTION public.is_privileged_session() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    SELECT coalesce((SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user), false)
$$;

CREATE FUNCTION public.can_access_customer(p_customer_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT public.is_admin()
        OR EXISTS (SELECT 1 FROM public.customers c
                   WHERE c.id = p_customer_id AND c.owner = auth.uid())
$$;

CREATE FUNCTION public.is_ticket_assignee(p_ticket_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT EXISTS (SELECT 1 FROM public.ticket_assignees a
                   WHERE a.ticket_id = p_ticket_id AND a.user_id = auth.uid())
$$;

-- A ticket is visible to its creator, its assigned_to, every user in
-- ticket_assignees, and admins. Everything hanging off a ticket (comments,
-- attachments, workflow history, assignees, stored files) follows it.
CREATE FUNCTION public.can_access_ticket(p_ticket_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT auth.uid() IS NOT NULL AND EXISTS (
        SELECT 1 FROM public.tickets t
        WHERE t.id = p_ticket_id
          AND (public.is_admin()
               OR t.created_by = auth.uid()
               OR t.assigned_to = auth.uid()
               OR public.is_ticket_assignee(t.id)))
$$;

-- Whether an integration token grants a permission: active, not expired,
-- used on behalf of its own creator, and listing the permission.
CREATE FUNCTION public.integration_token_allows(p_token_id uuid, p_permission text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.integration_tokens t
        WHERE t.id = p_token_id
          AND t.is_active
          AND (t.expires_at IS NULL OR t.expires_at > now())
          AND t.created_by = auth.uid()
          AND p_permission = ANY (t.permissions))
$$;

-- A person's own session may do what its role allows; a request through a
-- token also needs the token's permission.
CREATE FUNCTION public.token_permits(p_permission text) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT auth.integration_token_id() IS NULL
        OR public.integration_token_allows(auth.integration_token_id(), p_permission)
$$;

-- Things no integration token may ever do (manage users, tokens, the catalog).
CREATE FUNCTION public.is_personal_session() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    SELECT auth.uid() IS NOT NULL AND auth.integration_token_id() IS NULL
$$;

GRANT EXECUTE ON FUNCTION
    public.current_user_role(), public.is_admin(), public.is_privileged_session(),
    public.can_access_customer(uuid), public.is_ticket_assignee(uuid),
    public.can_access_ticket(uuid), public.integration_token_allows(uuid, text),
    public.token_permits(text), public.is_personal_session()
    TO authenticated, service_role;

---------------------------------------------------------------------------
-- Enable and force RLS everywhere: forcing also binds the tables' owner.
---------------------------------------------------------------------------
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'auth.users',
        'public.profiles', 'public.products', 'public.acquisition_stages',
        'public.customers', 'public.customer_interactions', 'public.tickets',
        'public.ticket_workflow_history', 'public.ticket_assignees',
        'public.ticket_comments', 'public.ticket_attachments',
        'public.integration_tokens', 'public.audit_history'
    ] LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

-- auth.users has no policy: only RLS-bypassing roles (the server's account
-- code, as service_role) touch it.

---------------------------------------------------------------------------
-- profiles: own profile; admins all. Colleagues' names come through
-- get_colleagues() (migration 3), never through this table. Role changes are
-- stopped by the guard trigger of migration 3, which can see the old row.
---------------------------------------------------------------------------
CREATE POLICY profiles_select ON public.profiles FOR SELECT TO authenticated
    USING (id = (SELECT auth.uid()) OR (SELECT public.is_admin()));
CREATE POLICY profiles_insert ON public.profiles FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()));
CREATE POLICY profiles_update ON public.profiles FOR UPDATE TO authenticated
    USING ((id = (SELECT auth.uid()) OR (SELECT public.is_admin())) AND (SELECT public.is_personal_session()))
    WITH CHECK ((id = (SELECT auth.uid()) OR (SELECT public.is_admin())) AND (SELECT public.is_personal_session()));
CREATE POLICY profiles_delete ON public.profiles FOR DELETE TO authenticated
    USING ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()));

---------------------------------------------------------------------------
-- products, acquisition_stages: everyone signed in reads; admins manage.
---------------------------------------------------------------------------
CREATE POLICY products_select ON public.products FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) IS NOT NULL);
CREATE POLICY products_insert ON public.products FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()));
CREATE POLICY products_update ON public.products FOR UPDATE TO authenticated
    USING ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()))
    WITH CHECK ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()));
CREATE POLICY products_delete ON public.products FOR DELETE TO authenticated
    USING ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()));

CREATE POLICY acquisition_stages_select ON public.acquisition_stages FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) IS NOT NULL);
CREATE POLICY acquisition_stages_insert ON public.acquisition_stages FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()));
CREATE POLICY acquisition_stages_update ON public.acquisition_stages FOR UPDATE TO authenticated
    USING ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()))
    WITH CHECK ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()));
CREATE POLICY acquisition_stages_delete ON public.acquisition_stages FOR DELETE TO authenticated
    USING ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()));

---------------------------------------------------------------------------
-- customers: the owner and admins. The WITH CHECK on owner is what stops an
-- agent from handing a customer to someone else: reassignment is for admins.
-- Deleting is for admins too; agents archive (is_archived).
---------------------------------------------------------------------------
CREATE POLICY customers_select ON public.customers FOR SELECT TO authenticated
    USING ((owner = (SELECT auth.uid()) OR (SELECT public.is_admin()))
           AND (SELECT public.token_permits('customers:read')));
CREATE POLICY customers_insert ON public.customers FOR INSERT TO authenticated
    WITH CHECK ((owner = (SELECT auth.uid()) OR (SELECT public.is_admin()))
                AND (SELECT public.token_permits('customers:write')));
CREATE POLICY customers_update ON public.customers FOR UPDATE TO authenticated
    USING ((owner = (SELECT auth.uid()) OR (SELECT public.is_admin()))
           AND (SELECT public.token_permits('customers:write')))
    WITH CHECK ((owner = (SELECT auth.uid()) OR (SELECT public.is_admin()))
                AND (SELECT public.token_permits('customers:write')));
CREATE POLICY customers_delete ON public.customers FOR DELETE TO authenticated
    USING ((SELECT public.is_admin()) AND (SELECT public.token_permits('customers:write')));

---------------------------------------------------------------------------
-- customer_interactions: follow the customer. Whoever manages the customer
-- manages its interactions; a new one is always written as oneself.
---------------------------------------------------------------------------
CREATE POLICY customer_interactions_select ON public.customer_interactions FOR SELECT TO authenticated
    USING (public.can_access_customer(customer_id)
           AND (SELECT public.token_permits('interactions:read')));
CREATE POLICY customer_interactions_insert ON public.customer_interactions FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND public.can_access_customer(customer_id)
                AND (SELECT public.token_permits('interactions:write')));
CREATE POLICY customer_interactions_update ON public.customer_interactions FOR UPDATE TO authenticated
    USING (public.can_access_customer(customer_id)
           AND (SELECT public.token_permits('interactions:write')))
    WITH CHECK (public.can_access_customer(customer_id)
                AND (SELECT public.token_permits('interactions:write')));
CREATE POLICY customer_interactions_delete ON public.customer_interactions FOR DELETE TO authenticated
    USING (public.can_access_customer(customer_id)
           AND (SELECT public.token_permits('interactions:write')));

---------------------------------------------------------------------------
-- tickets: creator, assigned_to, every assignee, admins. An update must leave
-- the ticket visible to the one who made it. Deleting is for admins; agents
-- close tickets. Linking a ticket to a customer the caller cannot see is
-- stopped by a trigger (migration 3), which can tell a changed link from an
-- unchanged one.
---------------------------------------------------------------------------
CREATE POLICY tickets_select ON public.tickets FOR SELECT TO authenticated
    USING ((created_by = (SELECT auth.uid())
            OR assigned_to = (SELECT auth.uid())
            OR (SELECT public.is_admin())
            OR public.is_ticket_assignee(id))
           AND (SELECT public.token_permits('tickets:read')));
CREATE POLICY tickets_insert ON public.tickets FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND (SELECT public.token_permits('tickets:write')));
CREATE POLICY tickets_update ON public.tickets FOR UPDATE TO authenticated
    USING ((created_by = (SELECT auth.uid())
            OR assigned_to = (SELECT auth.uid())
            OR (SELECT public.is_admin())
            OR public.is_ticket_assignee(id))
           AND (SELECT public.token_permits('tickets:write')))
    WITH CHECK ((created_by = (SELECT auth.uid())
                 OR assigned_to = (SELECT auth.uid())
                 OR (SELECT public.is_admin())
                 OR public.is_ticket_assignee(id))
                AND (SELECT public.token_permits('tickets:write')));
CREATE POLICY tickets_delete ON public.tickets FOR DELETE TO authenticated
    USING ((SELECT public.is_admin()) AND (SELECT public.token_permits('tickets:write')));

---------------------------------------------------------------------------
-- ticket_workflow_history: read with the ticket; written only by trigger.
---------------------------------------------------------------------------
CREATE POLICY ticket_workflow_history_select ON public.ticket_workflow_history FOR SELECT TO authenticated
    USING (public.can_access_ticket(ticket_id) AND (SELECT public.token_permits('tickets:read')));

---------------------------------------------------------------------------
-- ticket_assignees: whoever can access the ticket manages its assignees,
-- always as oneself (assigned_by).
---------------------------------------------------------------------------
CREATE POLICY ticket_assignees_select ON public.ticket_assignees FOR SELECT TO authenticated
    USING (public.can_access_ticket(ticket_id) AND (SELECT public.token_permits('tickets:read')));
CREATE POLICY ticket_assignees_insert ON public.ticket_assignees FOR INSERT TO authenticated
    WITH CHECK (assigned_by = (SELECT auth.uid())
                AND public.can_access_ticket(ticket_id)
                AND (SELECT public.token_permits('tickets:write')));
-- An assignment is added or removed, not edited.
CREATE POLICY ticket_assignees_update ON public.ticket_assignees FOR UPDATE TO authenticated
    USING ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()))
    WITH CHECK ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()));
CREATE POLICY ticket_assignees_delete ON public.ticket_assignees FOR DELETE TO authenticated
    USING (public.can_access_ticket(ticket_id) AND (SELECT public.token_permits('tickets:write')));

---------------------------------------------------------------------------
-- ticket_comments: follow the ticket. Internal comments are for staff: every
-- person's own session sees them, an integration token only with the explicit
-- `comments:internal` permission. Authors edit their own; authors and admins
-- delete.
---------------------------------------------------------------------------
CREATE POLICY ticket_comments_select ON public.ticket_comments FOR SELECT TO authenticated
    USING (public.can_access_ticket(ticket_id)
           AND (SELECT public.token_permits('comments:read'))
           AND (NOT is_internal OR (SELECT public.token_permits('comments:internal'))));
CREATE POLICY ticket_comments_insert ON public.ticket_comments FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND public.can_access_ticket(ticket_id)
                AND (SELECT public.token_permits('comments:write'))
                AND (NOT is_internal OR (SELECT public.token_permits('comments:internal'))));
CREATE POLICY ticket_comments_update ON public.ticket_comments FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid())
           AND public.can_access_ticket(ticket_id)
           AND (SELECT public.token_permits('comments:write')))
    WITH CHECK (created_by = (SELECT auth.uid())
                AND public.can_access_ticket(ticket_id)
                AND (SELECT public.token_permits('comments:write'))
                AND (NOT is_internal OR (SELECT public.token_permits('comments:internal'))));
CREATE POLICY ticket_comments_delete ON public.ticket_comments FOR DELETE TO authenticated
    USING ((created_by = (SELECT auth.uid()) OR (SELECT public.is_admin()))
           AND public.can_access_ticket(ticket_id)
           AND (SELECT public.token_permits('comments:write')));

---------------------------------------------------------------------------
-- ticket_attachments: follow the ticket; uploaded as oneself. The metadata
-- is fixed once written (admins may correct it); uploader or admin deletes.
---------------------------------------------------------------------------
CREATE POLICY ticket_attachments_select ON public.ticket_attachments FOR SELECT TO authenticated
    USING (public.can_access_ticket(ticket_id) AND (SELECT public.token_permits('attachments:read')));
CREATE POLICY ticket_attachments_insert ON public.ticket_attachments FOR INSERT TO authenticated
    WITH CHECK (uploaded_by = (SELECT auth.uid())
                AND public.can_access_ticket(ticket_id)
                AND (SELECT public.token_permits('attachments:write')));
CREATE POLICY ticket_attachments_update ON public.ticket_attachments FOR UPDATE TO authenticated
    USING ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()))
    WITH CHECK ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()));
CREATE POLICY ticket_attachments_delete ON public.ticket_attachments FOR DELETE TO authenticated
    USING ((uploaded_by = (SELECT auth.uid()) OR (SELECT public.is_admin()))
           AND public.can_access_ticket(ticket_id)
           AND (SELECT public.token_permits('attachments:write')));

---------------------------------------------------------------------------
-- integration_tokens: only their creator, and only from a personal session
-- (a token never mints or edits tokens).
---------------------------------------------------------------------------
CREATE POLICY integration_tokens_select ON public.integration_tokens FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()) AND (SELECT public.is_personal_session()));
CREATE POLICY integration_tokens_insert ON public.integration_tokens FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid()) AND (SELECT public.is_personal_session()));
CREATE POLICY integration_tokens_update ON public.integration_tokens FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid()) AND (SELECT public.is_personal_session()))
    WITH CHECK (created_by = (SELECT auth.uid()) AND (SELECT public.is_personal_session()));
CREATE POLICY integration_tokens_delete ON public.integration_tokens FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()) AND (SELECT public.is_personal_session()));

---------------------------------------------------------------------------
-- audit_history: admins read all, users their own changes; nobody writes
-- except the audit trigger, nobody edits or deletes.
---------------------------------------------------------------------------
CREATE POLICY audit_history_select ON public.audit_history FOR SELECT TO authenticated
    USING ((changed_by = (SELECT auth.uid()) OR (SELECT public.is_admin()))
           AND (SELECT public.is_personal_session()));
