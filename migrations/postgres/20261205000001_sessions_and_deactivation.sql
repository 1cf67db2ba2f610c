-- Sign-ins as devices, and accounts that can be deactivated (security
-- review H1, M2, L1).
--
-- Why:
-- - A sign-in was only a family of refresh tokens: nothing named the
--   device, nothing let a user or an admin end one from elsewhere, and a
--   family was "live" while any of its tokens was unrevoked, so a refresh
--   committing while the family was being revoked left a live child (M2).
--   Now every sign-in is a row of `auth.sessions`. Ending it marks that one
--   row, which every refresh locks first: a revocation and a refresh are
--   serialised on it, and a family whose session has ended is dead whatever
--   its tokens say.
-- - Sessions have an absolute lifetime (`expires_at`, set when signing in)
--   beside the refresh tokens' sliding one, so a session used once a month
--   does not live for ever.
-- - An account is deactivated, never deleted (its authorship is the team's
--   history): `auth.users.deactivated_at`. Requests check it through their
--   session; integration tokens through their owner.
-- - Who may be deactivated is decided here, for every path (HTTP, CLI): not
--   the last active admin. The demotion and deletion guards now count
--   active admins only, so a deactivated admin no longer keeps the team
--   "with an admin".
-- - Every change of a session's state or an account's is announced at
--   commit (`crm_sessions`), so live streams close at once, and integration
--   tokens' owners are checked again (`crm_tokens`).

ALTER TABLE auth.users
    ADD COLUMN deactivated_at      timestamptz,
    -- Who last deactivated or reactivated the account (NULL: an operator
    -- at the command line).
    ADD COLUMN status_changed_by   uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    ADD COLUMN password_changed_at timestamptz;

CREATE TABLE auth.sessions (
    id            uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    user_id       uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    -- As the device said it (the app sends the computer's name and its
    -- system); shown to the user, never trusted for anything.
    device_name   text CHECK (char_length(device_name) <= 100),
    platform      text CHECK (char_length(platform) <= 50),
    created_at    timestamptz NOT NULL DEFAULT now(),
    first_address inet,
    -- Renewed at every refresh (a few times an hour while the app runs),
    -- not at every request.
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_address  inet,
    -- The absolute end: no refresh goes past it.
    expires_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    end_reason    text CHECK (end_reason IN (
                      'signed_out',             -- by itself
                      'revoked',                -- by its user elsewhere, or an admin
                      'signed_out_everywhere',  -- its user ended every other
                      'password_changed',
                      'password_reset',
                      'token_reused',           -- a refresh token was presented twice
                      'deactivated')),
    ended_by      uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    CONSTRAINT sessions_end_has_reason CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX sessions_user_idx ON auth.sessions (user_id, created_at DESC);
CREATE INDEX sessions_ended_by_idx ON auth.sessions (ended_by);
CREATE INDEX users_status_changed_by_idx ON auth.users (status_changed_by);

-- The sign-ins made before this migration become sessions, ended as their
-- families were, living at least as long as their refresh tokens do.
INSERT INTO auth.sessions (id, user_id, created_at, last_seen_at, expires_at, ended_at, end_reason)
SELECT family_id,
       (array_agg(user_id))[1],
       min(created_at),
       max(created_at),
       greatest(min(created_at) + interval '90 days', max(expires_at)),
       CASE WHEN bool_or(revoked_at IS NOT NULL) THEN max(revoked_at) END,
       CASE WHEN bool_or(revoked_at IS NOT NULL) THEN 'signed_out' END
FROM auth.refresh_tokens
GROUP BY family_id;

ALTER TABLE auth.refresh_tokens
    ADD CONSTRAINT refresh_tokens_session_fk
    FOREIGN KEY (family_id) REFERENCES auth.sessions (id) ON DELETE CASCADE;

REVOKE ALL ON auth.sessions FROM PUBLIC, anon, authenticated;
GRANT ALL ON auth.sessions TO service_role;
ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.sessions FORCE ROW LEVEL SECURITY;

---------------------------------------------------------------------------
-- Admins: the last active one stays.
---------------------------------------------------------------------------

-- Whether an admin other than `other` can still sign in. SECURITY DEFINER:
-- the guards run as the user making the change, who cannot read auth.users.
CREATE FUNCTION crm_private.another_active_admin(other uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.profiles p JOIN auth.users u ON u.id = p.id
        WHERE p.role = 'admin' AND p.id <> other AND u.deactivated_at IS NULL)
$$;
REVOKE ALL ON FUNCTION crm_private.another_active_admin(uuid) FROM PUBLIC;
GRANT USAGE ON SCHEMA crm_private TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION crm_private.another_active_admin(uuid) TO authenticated, service_role;

CREATE OR REPLACE FUNCTION public.protect_profile_columns() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF NOT public.is_privileged_session() AND NOT public.is_admin() THEN
        IF NEW.role IS DISTINCT FROM OLD.role THEN
            RAISE EXCEPTION 'only an admin can change a role'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.email IS DISTINCT FROM OLD.email THEN
            RAISE EXCEPTION 'the email of a profile follows its account and cannot be changed here'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF OLD.role = 'admin' AND NEW.role <> 'admin' THEN
        -- Serialise demotions (and deactivations) so that two admins
        -- demoting each other at once cannot leave the team without one.
        PERFORM pg_advisory_xact_lock(hashtext('crm.profiles.admin_demotion'));
        IF NOT crm_private.another_active_admin(OLD.id) THEN
            RAISE EXCEPTION 'the last admin cannot stop being one'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION public.protect_last_admin() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    IF OLD.role = 'admin' THEN
        PERFORM pg_advisory_xact_lock(hashtext('crm.profiles.admin_demotion'));
        IF NOT crm_private.another_active_admin(OLD.id) THEN
            RAISE EXCEPTION 'the last admin cannot be removed'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN OLD;
END
$$;

-- Deactivating an account: not the last active admin; every session ends
-- with it; the change is audited (who, when), whichever path made it.
CREATE FUNCTION auth.on_account_status() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    IF NEW.deactivated_at IS NOT NULL AND OLD.deactivated_at IS NULL THEN
        IF EXISTS (SELECT 1 FROM public.profiles WHERE id = NEW.id AND role = 'admin') THEN
            PERFORM pg_advisory_xact_lock(hashtext('crm.profiles.admin_demotion'));
            IF NOT crm_private.another_active_admin(NEW.id) THEN
                RAISE EXCEPTION 'the last active admin cannot be deactivated'
                    USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        UPDATE auth.sessions
           SET ended_at = now(), end_reason = 'deactivated', ended_by = NEW.status_changed_by
         WHERE user_id = NEW.id AND ended_at IS NULL;
    END IF;
    INSERT INTO public.audit_history (table_name, record_id, action, old_values, new_values, changed_by)
    VALUES ('auth.users', NEW.id, 'UPDATE',
            jsonb_build_object('deactivated_at', OLD.deactivated_at),
            jsonb_build_object('deactivated_at', NEW.deactivated_at),
            NEW.status_changed_by);
    -- Integration tokens act for their owner: every process checks its
    -- known tokens' owners again.
    PERFORM pg_notify('crm_tokens', '');
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION auth.on_account_status() FROM PUBLIC;
CREATE TRIGGER users_account_status AFTER UPDATE OF deactivated_at ON auth.users
    FOR EACH ROW WHEN (OLD.deactivated_at IS DISTINCT FROM NEW.deactivated_at)
    EXECUTE FUNCTION auth.on_account_status();

-- A session that ends is announced at commit: live streams of that
-- session (or of its user, deactivated) close at once, in every process.
CREATE FUNCTION auth.notify_session_end() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM pg_notify('crm_sessions', NEW.id::text);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION auth.notify_session_end() FROM PUBLIC;
CREATE TRIGGER sessions_notify_end AFTER UPDATE OF ended_at ON auth.sessions
    FOR EACH ROW WHEN (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION auth.notify_session_end();

---------------------------------------------------------------------------
-- Password reset codes: there is no email, so an admin makes a one-time
-- code and hands it over. One live code per account; stored as its
-- SHA-256 (60 random bits, a few tries each: nothing to guess offline or
-- on line); it dies when used, after five wrong tries, or at expiry.
---------------------------------------------------------------------------
CREATE TABLE auth.password_reset_codes (
    user_id    uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    created_by uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    failures   integer NOT NULL DEFAULT 0
);
CREATE INDEX password_reset_codes_created_by_idx ON auth.password_reset_codes (created_by);
REVOKE ALL ON auth.password_reset_codes FROM PUBLIC, anon, authenticated;
GRANT ALL ON auth.password_reset_codes TO service_role;
ALTER TABLE auth.password_reset_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.password_reset_codes FORCE ROW LEVEL SECURITY;
