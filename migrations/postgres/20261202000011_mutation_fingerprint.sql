-- What each settled mutation said, so a replay can be told from another
-- mutation under the same number (security review M4).
--
-- Why: a replica restored from a backup, or copied to a second machine,
-- goes on numbering its changes from where the copy was made. The server
-- took any number at or below the client's last for a replay and answered
-- the stored outcome, so the copy's new work was silently dropped. With
-- the fingerprint (crm_domain::protocol::Mutation::fingerprint) stored,
-- a number whose mutation differs is answered "forked": the client takes
-- a new client id and sends the rest again under it. Rows settled before
-- this migration have none and are taken as replays, as before.

ALTER TABLE sync.client_mutations ADD COLUMN fingerprint text;
