-- A follow-up can be done (PostgreSQL migration ..._follow_up_done): when
-- it was done, or NULL while it is still to do. Rows pulled before this
-- column existed had no done follow-ups, so NULL is their true value.
ALTER TABLE customer_interactions ADD COLUMN follow_up_done_at TEXT;
