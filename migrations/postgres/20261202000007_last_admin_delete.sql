-- The last admin cannot be deleted either (security review L5).
--
-- Why: protect_profile_columns stops the last admin from being demoted,
-- but an admin could delete the last admin profile (their own, through
-- sync), leaving the team with nobody to manage accounts and an account
-- with a live session and no profile. Deletion now takes the same lock as
-- demotion, so two admins deleting each other at once cannot both succeed.

CREATE FUNCTION public.protect_last_admin() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    IF OLD.role = 'admin' THEN
        PERFORM pg_advisory_xact_lock(hashtext('crm.profiles.admin_demotion'));
        IF NOT EXISTS (SELECT 1 FROM public.profiles
                       WHERE role = 'admin' AND id <> OLD.id) THEN
            RAISE EXCEPTION 'the last admin cannot be removed'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN OLD;
END
$$;

REVOKE ALL ON FUNCTION public.protect_last_admin() FROM PUBLIC;

CREATE TRIGGER profiles_protect_last_admin BEFORE DELETE ON public.profiles
    FOR EACH ROW EXECUTE FUNCTION public.protect_last_admin();
