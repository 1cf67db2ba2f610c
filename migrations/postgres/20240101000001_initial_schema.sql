-- 1/5 Base tables and enums.
--
-- Reproduces Supabase's model without Supabase: the roles `anon`,
-- `authenticated` and `service_role`, an `auth` schema with `auth.users`, and
-- `auth.uid()` / `auth.role()` reading the per-transaction JWT claims in the
-- setting `request.jwt.claims` (JSON with `sub`, `role` and, for requests that
-- came through an integration token, `integration_token_id`).
--
-- Applies with sqlx's migrator and with plain `psql -f` on a fresh database.
-- Must be applied by a role that bypasses RLS (a superuser, as the sync
-- server's embedded cluster and the test harness use): the SECURITY DEFINER
-- trigger functions of migration 3 run as that role.

-- Roles are cluster-wide: create them only where missing, and tolerate a
-- concurrent migration of another database creating the same one.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('anon', false),
        ('authenticated', false),
        ('service_role', true)
    ) AS t(name, bypass) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) THEN
            BEGIN
                IF r.bypass THEN
                    EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT BYPASSRLS', r.name);
                ELSE
                    EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r.name);
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$$;

-- Nobody gets anything by default: every grant below is deliberate. (Default
-- privileges are per database, so this touches no other database.)
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

---------------------------------------------------------------------------
-- auth
---------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS auth;
REVOKE ALL ON SCHEMA auth FROM PUBLIC;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

-- UUIDv7 (time-ordered) for server-side defaults; clients may supply their own
-- ids (rows are created offline), v7 or any other version.
CREATE FUNCTION public.uuid_generate_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    -- 48 bits of Unix milliseconds, then the random bits of a v4 UUID with the
    -- version nibble turned from 4 (0100) into 7 (0111) by setting two bits.
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

GRANT EXECUTE ON FUNCTION public.uuid_generate_v7() TO authenticated, service_role;

-- Text rules shared by the CHECK constraints, matching crm-domain's
-- validation exactly: "whitespace" is Unicode's White_Space set (what Rust's
-- char::is_whitespace means), spelled out so that no collation changes it.
CREATE FUNCTION public.is_blank(p text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog
AS $$
    SELECT p !~ '[^\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]'
$$;

CREATE FUNCTION public.is_valid_email(p text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog
AS $$
    SELECT length(p) <= 254
       AND p ~ '^[^@\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+@[^@\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+\.[^@\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$'
$$;

GRANT EXECUTE ON FUNCTION public.is_blank(text), public.is_valid_email(text) TO authenticated, service_role;

CREATE TABLE auth.users (
    id                  uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    email               text NOT NULL,
    encrypted_password  text,
    raw_user_meta_data  jsonb NOT NULL DEFAULT '{}'::jsonb,
    last_sign_in_at     timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_format CHECK (public.is_valid_email(email))
);
-- Emails are unique regardless of case: "Ana@x.io" and "ana@x.io" are one person.
CREATE UNIQUE INDEX users_email_lower_key ON auth.users (lower(email));
REVOKE ALL ON auth.users FROM PUBLIC, anon, authenticated;
GRANT ALL ON auth.users TO service_role;

-- The caller's claims, or NULL outside a request (migrations, superuser work).
CREATE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb
$$;

CREATE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    SELECT nullif(auth.jwt() ->> 'sub', '')::uuid
$$;

CREATE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    SELECT nullif(auth.jwt() ->> 'role', '')
$$;

-- Set by the server for requests made with an integration token; NULL for a
-- person's own session.
CREATE FUNCTION auth.integration_token_id() RETURNS uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    SELECT nullif(auth.jwt() ->> 'integration_token_id', '')::uuid
$$;

GRANT EXECUTE ON FUNCTION auth.jwt(), auth.uid(), auth.role(), auth.integration_token_id()
    TO anon, authenticated, service_role;

---------------------------------------------------------------------------
-- Enums (values and order are the spec's)
---------------------------------------------------------------------------
CREATE TYPE public.ticket_priority AS ENUM ('low', 'medium', 'high', 'urgent');
CREATE TYPE public.ticket_status AS ENUM ('open', 'in_progress', 'pending_customer', 'resolved', 'closed', 'reopened');
CREATE TYPE public.acquisition_stage_enum AS ENUM ('lead', 'qualified', 'proposal', 'negotiation', 'closed_won', 'closed_lost');
CREATE TYPE public.interaction_channel AS ENUM ('phone', 'email', 'meeting', 'chat', 'other');
CREATE TYPE public.user_role AS ENUM ('agent', 'admin');

---------------------------------------------------------------------------
-- Tables
---------------------------------------------------------------------------
CREATE TABLE public.profiles (
    id          uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    email       text NOT NULL,
    full_name   text CHECK (length(full_name) <= 200),
    avatar_url  text CHECK (length(avatar_url) <= 2048),
    role        public.user_role NOT NULL DEFAULT 'agent',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.products (
    id          uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    name        text NOT NULL CHECK (NOT public.is_blank(name) AND length(name) <= 100),
    description text CHECK (length(description) <= 10000),
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The pipeline's stages: the enum names them, this table orders them.
CREATE TABLE public.acquisition_stages (
    id          uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    name        public.acquisition_stage_enum NOT NULL UNIQUE,
    order_index integer NOT NULL UNIQUE CHECK (order_index >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.customers (
    id                uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    name              text NOT NULL CHECK (NOT public.is_blank(name) AND length(name) <= 200),
    email             text CHECK (public.is_valid_email(email)),
    phone             text CHECK (length(phone) <= 32 AND phone ~ '^[0-9 +().-]+$'
                                  AND length(regexp_replace(phone, '[^0-9]', '', 'g')) >= 5),
    product_id        uuid REFERENCES public.products (id) ON DELETE SET NULL,
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'churned')),
    acquisition_stage public.acquisition_stage_enum NOT NULL DEFAULT 'lead',
    -- An owner who leaves (profile deleted) leaves the customer to the admins.
    owner             uuid DEFAULT auth.uid() REFERENCES public.profiles (id) ON DELETE SET NULL,
    is_archived       boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.customer_interactions (
    id             uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    customer_id    uuid NOT NULL REFERENCES public.customers (id) ON DELETE CASCADE,
    type           text NOT NULL CHECK (NOT public.is_blank(type) AND length(type) <= 50),
    channel        public.interaction_channel NOT NULL,
    note           text CHECK (length(note) <= 10000),
    follow_up_date timestamptz,
    created_by     uuid NOT NULL DEFAULT auth.uid() REFERENCES public.profiles (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- Not in the spec's diagram; follow-ups get moved, and the replica needs
    -- to know when a row last changed.
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.tickets (
    id          uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    title       text NOT NULL CHECK (NOT public.is_blank(title) AND length(title) <= 200),
    description text CHECK (length(description) <= 20000),
    priority    public.ticket_priority NOT NULL DEFAULT 'medium',
    status      public.ticket_status NOT NULL DEFAULT 'open',
    -- A customer with tickets is archived, not deleted.
    customer_id uuid REFERENCES public.customers (id) ON DELETE RESTRICT,
    assigned_to uuid REFERENCES public.profiles (id) ON DELETE SET NULL,
    created_by  uuid NOT NULL DEFAULT auth.uid() REFERENCES public.profiles (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    closed_at   timestamptz
);

CREATE TABLE public.ticket_workflow_history (
    id          uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    ticket_id   uuid NOT NULL REFERENCES public.tickets (id) ON DELETE CASCADE,
    -- NULL for the entry written when the ticket is created.
    from_status public.ticket_status,
    to_status   public.ticket_status NOT NULL,
    changed_by  uuid REFERENCES public.profiles (id) ON DELETE SET NULL,
    note        text CHECK (length(note) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.ticket_assignees (
    id          uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    ticket_id   uuid NOT NULL REFERENCES public.tickets (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES public.profiles (id) ON DELETE CASCADE,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    assigned_by uuid NOT NULL DEFAULT auth.uid() REFERENCES public.profiles (id),
    UNIQUE (ticket_id, user_id)
);

CREATE TABLE public.ticket_comments (
    id          uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    ticket_id   uuid NOT NULL REFERENCES public.tickets (id) ON DELETE CASCADE,
    content     text NOT NULL CHECK (NOT public.is_blank(content) AND length(content) <= 20000),
    is_internal boolean NOT NULL DEFAULT false,
    created_by  uuid NOT NULL DEFAULT auth.uid() REFERENCES public.profiles (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.ticket_attachments (
    id          uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    ticket_id   uuid NOT NULL REFERENCES public.tickets (id) ON DELETE CASCADE,
    file_name   text NOT NULL CHECK (file_name <> '' AND octet_length(file_name) <= 255
                                     AND file_name !~ '[/\\]' AND file_name NOT IN ('.', '..')),
    -- Always `{ticket_id}/{file_name}`, the object's path in the bucket.
    file_path   text NOT NULL UNIQUE,
    file_size   bigint NOT NULL CHECK (file_size > 0 AND file_size <= 52428800),
    mime_type   text NOT NULL CHECK (mime_type IN (
                    'image/png', 'image/jpeg', 'image/gif', 'image/webp',
                    'application/pdf',
                    'application/msword',
                    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
                    'application/vnd.ms-excel',
                    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
                    'application/vnd.ms-powerpoint',
                    'application/vnd.openxmlformats-officedocument.presentationml.presentation')),
    uploaded_by uuid NOT NULL DEFAULT auth.uid() REFERENCES public.profiles (id),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ticket_attachments_path_shape CHECK (file_path = ticket_id::text || '/' || file_name)
);

CREATE TABLE public.integration_tokens (
    id           uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    name         text NOT NULL CHECK (NOT public.is_blank(name) AND length(name) <= 100),
    -- Only a hash is stored; the token itself is shown once, at creation.
    token_hash   text NOT NULL UNIQUE CHECK (length(token_hash) >= 32),
    permissions  text[] NOT NULL CHECK (
                     cardinality(permissions) > 0
                     AND permissions <@ ARRAY[
                         'customers:read', 'customers:write',
                         'interactions:read', 'interactions:write',
                         'tickets:read', 'tickets:write',
                         'comments:read', 'comments:write', 'comments:internal',
                         'attachments:read', 'attachments:write']::text[]),
    is_active    boolean NOT NULL DEFAULT true,
    last_used_at timestamptz,
    created_by   uuid NOT NULL DEFAULT auth.uid() REFERENCES public.profiles (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz
);

-- Append-only. No foreign keys: the history outlives the users and rows it names.
CREATE TABLE public.audit_history (
    id                   uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    table_name           text NOT NULL,
    record_id            uuid NOT NULL,
    action               text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
    old_values           jsonb,
    new_values           jsonb,
    changed_by           uuid,
    integration_token_id uuid,
    created_at           timestamptz NOT NULL DEFAULT now()
);

---------------------------------------------------------------------------
-- Indexes: every foreign key, the filters, the timestamps, and the composite
-- queries the product runs.
---------------------------------------------------------------------------
CREATE INDEX customers_product_id_idx ON public.customers (product_id);
CREATE INDEX customers_owner_idx ON public.customers (owner);
CREATE INDEX customers_acquisition_stage_idx ON public.customers (acquisition_stage);
CREATE INDEX customers_status_idx ON public.customers (status);
CREATE INDEX customers_created_at_idx ON public.customers (created_at);
CREATE INDEX customers_updated_at_idx ON public.customers (updated_at);
-- An owner's customers by stage (the pipeline board).
CREATE INDEX customers_owner_stage_idx ON public.customers (owner, acquisition_stage) WHERE NOT is_archived;

CREATE INDEX customer_interactions_customer_id_idx ON public.customer_interactions (customer_id);
CREATE INDEX customer_interactions_created_by_idx ON public.customer_interactions (created_by);
CREATE INDEX customer_interactions_created_at_idx ON public.customer_interactions (created_at);
-- A customer's interactions, newest first.
CREATE INDEX customer_interactions_customer_date_idx ON public.customer_interactions (customer_id, created_at DESC);
-- Follow-ups due.
CREATE INDEX customer_interactions_follow_up_idx ON public.customer_interactions (follow_up_date)
    WHERE follow_up_date IS NOT NULL;

CREATE INDEX tickets_customer_id_idx ON public.tickets (customer_id);
CREATE INDEX tickets_assigned_to_idx ON public.tickets (assigned_to);
CREATE INDEX tickets_created_by_idx ON public.tickets (created_by);
CREATE INDEX tickets_status_idx ON public.tickets (status);
CREATE INDEX tickets_priority_idx ON public.tickets (priority);
CREATE INDEX tickets_created_at_idx ON public.tickets (created_at);
CREATE INDEX tickets_updated_at_idx ON public.tickets (updated_at);
-- A user's open tickets by priority.
CREATE INDEX tickets_assignee_open_priority_idx ON public.tickets (assigned_to, priority)
    WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX tickets_creator_status_idx ON public.tickets (created_by, status);

CREATE INDEX ticket_workflow_history_ticket_idx ON public.ticket_workflow_history (ticket_id, created_at);
CREATE INDEX ticket_workflow_history_changed_by_idx ON public.ticket_workflow_history (changed_by);

-- (ticket_id, user_id) is covered by the unique constraint.
CREATE INDEX ticket_assignees_user_ticket_idx ON public.ticket_assignees (user_id, ticket_id);
CREATE INDEX ticket_assignees_assigned_by_idx ON public.ticket_assignees (assigned_by);

CREATE INDEX ticket_comments_ticket_created_idx ON public.ticket_comments (ticket_id, created_at);
CREATE INDEX ticket_comments_created_by_idx ON public.ticket_comments (created_by);

CREATE INDEX ticket_attachments_ticket_id_idx ON public.ticket_attachments (ticket_id);
CREATE INDEX ticket_attachments_uploaded_by_idx ON public.ticket_attachments (uploaded_by);

CREATE INDEX integration_tokens_created_by_idx ON public.integration_tokens (created_by);

CREATE INDEX audit_history_record_idx ON public.audit_history (table_name, record_id, created_at);
CREATE INDEX audit_history_changed_by_idx ON public.audit_history (changed_by, created_at);
CREATE INDEX audit_history_created_at_idx ON public.audit_history (created_at);
CREATE INDEX audit_history_token_idx ON public.audit_history (integration_token_id)
    WHERE integration_token_id IS NOT NULL;
