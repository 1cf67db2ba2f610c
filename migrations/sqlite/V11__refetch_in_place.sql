-- A refetch (a table that drifted from the server, sent whole again)
-- replaces the table's rows in place: the ids the server sent while it ran
-- are noted here, and only when it has sent them all are the rows it did
-- not send (gone from the server, or no longer the user's) removed. Before,
-- the table was emptied first, and the user's rows vanished from the app
-- until the pages came.
CREATE TABLE refetch_seen (
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    PRIMARY KEY (table_name, row_id)
) WITHOUT ROWID;
