-- The role the sync server's requests run on: not a superuser (security
-- review H2).
--
-- Why: the server's pool connected as the superuser that applies the
-- migrations and narrowed each transaction with set_config('role', ...);
-- any SQL that ever ran in a user's context could RESET ROLE and be
-- superuser again (pg_read_file of the server's secrets, COPY ... TO
-- PROGRAM). `crm_app` can log in and do nothing of its own (NOINHERIT, no
-- grants): it may only become `authenticated`, `anon` or `service_role`,
-- which is all the server does. Migrations still run as a superuser (they
-- create roles with BYPASSRLS and SECURITY DEFINER functions owned by it).
-- Its password, where one is needed, is set by whoever runs the server
-- (the embedded cluster's is generated and kept 0600 in the data
-- directory); see the README for an external database.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_app') THEN
        BEGIN
            CREATE ROLE crm_app LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;

GRANT anon, authenticated, service_role TO crm_app;
