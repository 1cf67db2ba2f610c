-- Accounts: rotating refresh tokens and login attempts.
--
-- The sync server's account code works on these as `service_role`; no user
-- ever reads them. Tokens are stored as SHA-256 hashes. Each sign-in starts a
-- family; every refresh uses up one token and issues its child. A token used
-- twice means it was stolen (or replayed): the whole family is revoked.

CREATE TABLE auth.refresh_tokens (
    id          uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,
    parent_id   uuid REFERENCES auth.refresh_tokens (id) ON DELETE SET NULL,
    token_hash  bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_user_idx ON auth.refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_idx ON auth.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_parent_idx ON auth.refresh_tokens (parent_id);

-- Every sign-in attempt: the throttle counts recent failures per account and
-- per address, and the table doubles as a security log.
CREATE TABLE auth.login_attempts (
    id           uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    email        text NOT NULL,
    address      inet,
    succeeded    boolean NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_email_idx ON auth.login_attempts (lower(email), attempted_at);
CREATE INDEX login_attempts_address_idx ON auth.login_attempts (address, attempted_at);

REVOKE ALL ON auth.refresh_tokens, auth.login_attempts FROM PUBLIC, anon, authenticated;
GRANT ALL ON auth.refresh_tokens, auth.login_attempts TO service_role;
ALTER TABLE auth.refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.refresh_tokens FORCE ROW LEVEL SECURITY;
ALTER TABLE auth.login_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.login_attempts FORCE ROW LEVEL SECURITY;
