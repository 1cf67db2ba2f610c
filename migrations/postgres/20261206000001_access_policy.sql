-- What admins decide for every device (issue 15): how many days a device
-- may go without reaching the server before its app asks for the password
-- again before it shows any data (the offline grace period). One row,
-- read by everyone signed in (their apps enforce it), changed by admins
-- only, every change audited.
CREATE TABLE auth.access_policy (
    id                 uuid PRIMARY KEY DEFAULT '00000000-0000-0000-0000-000000000001'
                       CHECK (id = '00000000-0000-0000-0000-000000000001'),
    offline_grace_days integer NOT NULL DEFAULT 14 CHECK (offline_grace_days BETWEEN 1 AND 365),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    updated_by         uuid REFERENCES auth.users (id)
);
INSERT INTO auth.access_policy DEFAULT VALUES;
CREATE INDEX access_policy_updated_by ON auth.access_policy (updated_by);

GRANT SELECT ON auth.access_policy TO authenticated, service_role;
GRANT UPDATE (offline_grace_days, updated_by) ON auth.access_policy TO authenticated;
ALTER TABLE auth.access_policy ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.access_policy FORCE ROW LEVEL SECURITY;
CREATE POLICY access_policy_read ON auth.access_policy FOR SELECT TO authenticated, service_role
    USING (true);
CREATE POLICY access_policy_admins ON auth.access_policy FOR UPDATE TO authenticated
    USING ((SELECT public.is_admin()) AND (SELECT public.is_personal_session()))
    WITH CHECK ((SELECT public.is_admin()) AND (SELECT public.is_personal_session())
                AND updated_by = (SELECT auth.uid()));

CREATE TRIGGER access_policy_updated_at BEFORE UPDATE ON auth.access_policy
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE TRIGGER access_policy_audit_update AFTER UPDATE ON auth.access_policy
    FOR EACH ROW EXECUTE FUNCTION public.audit_updated_row();
