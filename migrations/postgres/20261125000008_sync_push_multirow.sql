-- A push's runs of inserts into one table as one multi-row statement.
--
-- Why: one statement per mutation, each in its own subtransaction and
-- planned afresh (dynamic SQL), cost ~1 ms a mutation against ~0.12 ms a
-- row for the same rows in one INSERT. Now consecutive inserts into one
-- table that write the same columns go in as one INSERT ... SELECT FROM
-- jsonb_populate_recordset, still as the caller (RLS WITH CHECK, every
-- trigger, every constraint decide, row by row, exactly as before).
--
-- Atomic per mutation, still: the group's statement runs in a
-- subtransaction; if any row of it is refused, the whole statement rolls
-- back and the group is applied again in halves (see sync.apply_group),
-- down to one mutation at a time, each in a subtransaction of its own as
-- before — so exactly the refused ones are rejected. Audit rows carry each
-- row's own sequence number: the group sets `crm.client_seqs` (row id ->
-- number) for its statement, read once by the statement-level audit
-- trigger (migration ..._statement_level_logs).
--
-- p_groups: [{"table": "...", "op": "insert"|"delete",
--             "mutations": [{"seq": 7, "row_id": "...", "values": {...}}]}]
-- The server forms the groups: consecutive mutations with the same op and
-- table and, for inserts, the same columns. Returns one row per mutation:
-- its error's SQLSTATE and message, or NULLs when it was applied. A delete
-- that found nothing reports P0002.

-- Inserts p_rows (objects naming the same columns, `id` included) into
-- p_table in one statement. Raises if the rows name different columns:
-- the recordset would fill a missing column with NULL where a one-row
-- insert takes the column's default.
CREATE FUNCTION sync.apply_inserts(p_table text, p_rows jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    tbl regclass := sync.checked_table(p_table);
    cols text := sync.checked_columns(tbl, p_rows -> 0);
    -- jsonb keeps an object's keys in one canonical order, so equal key
    -- sets give equal arrays.
    keys text[] := ARRAY(SELECT jsonb_object_keys(p_rows -> 0));
BEGIN
    IF EXISTS (SELECT FROM jsonb_array_elements(p_rows) r
               WHERE ARRAY(SELECT jsonb_object_keys(r.value)) <> keys) THEN
        RAISE EXCEPTION 'the rows of one insert must name the same columns'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_recordset(NULL::%s, $1)',
                   tbl, cols, cols, tbl)
        USING p_rows;
END
$$;

-- Applies one group (see above): an insert group as one statement; if that
-- is refused, each half of it the same way, down to groups of eight, which
-- go one mutation at a time. So a refused row costs a few statements of
-- shrinking size, not a statement for every row of its group, and only the
-- refused mutations are rejected.
CREATE FUNCTION sync.apply_group(p_table text, p_op text, p_mutations jsonb)
RETURNS TABLE (seq bigint, err_code text, err_message text)
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    n int := jsonb_array_length(p_mutations);
    m jsonb;
    together boolean := false;
BEGIN
    IF p_op = 'insert' AND n > 1 THEN
        BEGIN
            -- Each row's number comes from the map; nothing may take a
            -- single number left over from an earlier mutation.
            PERFORM set_config('crm.client_seq', '', true);
            PERFORM set_config('crm.client_seqs',
                (SELECT jsonb_object_agg(x ->> 'row_id', x -> 'seq')
                 FROM jsonb_array_elements(p_mutations) x)::text, true);
            PERFORM sync.apply_inserts(p_table,
                (SELECT jsonb_agg((x -> 'values') || jsonb_build_object('id', x -> 'row_id'))
                 FROM jsonb_array_elements(p_mutations) x));
            PERFORM set_config('crm.client_seqs', '', true);
            together := true;
        EXCEPTION WHEN OTHERS THEN
            -- At least one row was refused; the statement (and the
            -- settings) rolled back whole.
            together := false;
        END;
        IF together THEN
            RETURN QUERY SELECT (x ->> 'seq')::bigint, NULL::text, NULL::text
                         FROM jsonb_array_elements(p_mutations) x;
            RETURN;
        END IF;
        IF n > 8 THEN
            RETURN QUERY SELECT * FROM sync.apply_group(p_table, p_op,
                (SELECT jsonb_agg(x.value ORDER BY x.i) FROM jsonb_array_elements(p_mutations) WITH ORDINALITY x(value, i)
                 WHERE x.i <= n / 2));
            RETURN QUERY SELECT * FROM sync.apply_group(p_table, p_op,
                (SELECT jsonb_agg(x.value ORDER BY x.i) FROM jsonb_array_elements(p_mutations) WITH ORDINALITY x(value, i)
                 WHERE x.i > n / 2));
            RETURN;
        END IF;
    END IF;
    FOR m IN SELECT value FROM jsonb_array_elements(p_mutations) LOOP
        seq := (m ->> 'seq')::bigint;
        err_code := NULL;
        err_message := NULL;
        BEGIN
            PERFORM set_config('crm.client_seq', seq::text, true);
            IF p_op = 'insert' THEN
                PERFORM sync.apply_insert(p_table, (m ->> 'row_id')::uuid, m -> 'values');
            ELSIF NOT sync.apply_delete(p_table, (m ->> 'row_id')::uuid) THEN
                err_code := 'P0002';
                err_message := 'not found';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_code = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;

DROP FUNCTION sync.apply_run(jsonb);
CREATE FUNCTION sync.apply_run(p_groups jsonb)
RETURNS TABLE (seq bigint, err_code text, err_message text)
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    g jsonb;
BEGIN
    -- In order: a later group may refer to rows an earlier one inserted.
    FOR g IN SELECT value FROM jsonb_array_elements(p_groups) LOOP
        RETURN QUERY SELECT * FROM sync.apply_group(g ->> 'table', g ->> 'op', g -> 'mutations');
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION sync.apply_inserts(text, jsonb), sync.apply_group(text, text, jsonb), sync.apply_run(jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sync.apply_inserts(text, jsonb), sync.apply_group(text, text, jsonb), sync.apply_run(jsonb)
    TO authenticated, service_role;
