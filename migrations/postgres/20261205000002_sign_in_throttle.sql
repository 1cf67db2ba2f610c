-- A sign-in attempt is recorded before its password is checked (security
-- review M3).
--
-- Why: the throttle read the recent failures, then checked the password
-- (argon2, a fraction of a second), then recorded the attempt, with
-- nothing held in between: a burst of guesses all read "no failures" and
-- all went through. Now an attempt is recorded first, under a lock per
-- address, with `succeeded` NULL while its password is being checked, and
-- the throttle counts those in flight as failures. An attempt whose
-- request died before it was settled stays NULL and counts as a failure
-- until it ages out.

ALTER TABLE auth.login_attempts ALTER COLUMN succeeded DROP NOT NULL;

-- The throttle's question: failures of one account from one address.
CREATE INDEX login_attempts_pair_idx ON auth.login_attempts (lower(email), address, attempted_at);
