-- A push's groups arrive shaped as the multi-row statement needs them.
--
-- Why: sync.apply_group (migration ..._sync_push_multirow) built the rows
-- array (values plus id) and the row id -> sequence number map from
-- per-mutation objects, inside the database: ~10 ms of a 1,000-insert push
-- of ~160 ms. The server now sends both ready, and the database only
-- checks that they agree. Behaviour is unchanged.
--
-- p_groups: [{"table": "...", "op": "insert"|"delete",
--             "rows": [{...values..., "id": "<row id>"}],
--             "seqs": {"<row id>": 7, ...}}]
-- One number per row and one row per number: a group never holds one row
-- id twice (the server starts a new group instead).

DROP FUNCTION sync.apply_run(jsonb);
DROP FUNCTION sync.apply_group(text, text, jsonb);

-- As before: an insert group as one statement; if that is refused, each
-- half the same way, down to groups of eight, which go one mutation at a
-- time, each in a subtransaction of its own. p_seqs may name more rows
-- than p_rows holds (a half gets its whole group's map).
CREATE FUNCTION sync.apply_group(p_table text, p_op text, p_rows jsonb, p_seqs jsonb)
RETURNS TABLE (seq bigint, err_code text, err_message text)
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    n int := jsonb_array_length(p_rows);
    r jsonb;
    together boolean := false;
BEGIN
    IF p_op = 'insert' AND n > 1 THEN
        BEGIN
            -- Each row's number comes from the map; nothing may take a
            -- single number left over from an earlier mutation.
            PERFORM set_config('crm.client_seq', '', true);
            PERFORM set_config('crm.client_seqs', p_seqs::text, true);
            PERFORM sync.apply_inserts(p_table, p_rows);
            PERFORM set_config('crm.client_seqs', '', true);
            together := true;
        EXCEPTION WHEN OTHERS THEN
            -- At least one row was refused; the statement (and the
            -- settings) rolled back whole.
            together := false;
        END;
        IF together THEN
            RETURN QUERY SELECT (p_seqs ->> (x ->> 'id'))::bigint, NULL::text, NULL::text
                         FROM jsonb_array_elements(p_rows) x;
            RETURN;
        END IF;
        IF n > 8 THEN
            RETURN QUERY SELECT * FROM sync.apply_group(p_table, p_op,
                (SELECT jsonb_agg(x.value ORDER BY x.i) FROM jsonb_array_elements(p_rows) WITH ORDINALITY x(value, i)
                 WHERE x.i <= n / 2), p_seqs);
            RETURN QUERY SELECT * FROM sync.apply_group(p_table, p_op,
                (SELECT jsonb_agg(x.value ORDER BY x.i) FROM jsonb_array_elements(p_rows) WITH ORDINALITY x(value, i)
                 WHERE x.i > n / 2), p_seqs);
            RETURN;
        END IF;
    END IF;
    FOR r IN SELECT value FROM jsonb_array_elements(p_rows) LOOP
        seq := (p_seqs ->> (r ->> 'id'))::bigint;
        err_code := NULL;
        err_message := NULL;
        BEGIN
            PERFORM set_config('crm.client_seq', seq::text, true);
            IF p_op = 'insert' THEN
                PERFORM sync.apply_insert(p_table, (r ->> 'id')::uuid, r - 'id');
            ELSIF NOT sync.apply_delete(p_table, (r ->> 'id')::uuid) THEN
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

CREATE FUNCTION sync.apply_run(p_groups jsonb)
RETURNS TABLE (seq bigint, err_code text, err_message text)
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    g jsonb;
    n int;
BEGIN
    -- In order: a later group may refer to rows an earlier one inserted.
    FOR g IN SELECT value FROM jsonb_array_elements(p_groups) LOOP
        n := jsonb_array_length(g -> 'rows');
        -- n distinct row ids, each with a number, and no other numbers.
        IF (SELECT count(DISTINCT x ->> 'id') FILTER (WHERE (g -> 'seqs') ? (x ->> 'id'))
            FROM jsonb_array_elements(g -> 'rows') x) <> n
           OR (SELECT count(*) FROM jsonb_object_keys(g -> 'seqs')) <> n THEN
            RAISE EXCEPTION 'a group needs distinct row ids and one sequence number for each'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN QUERY SELECT * FROM sync.apply_group(g ->> 'table', g ->> 'op', g -> 'rows', g -> 'seqs');
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION sync.apply_group(text, text, jsonb, jsonb), sync.apply_run(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sync.apply_group(text, text, jsonb, jsonb), sync.apply_run(jsonb)
    TO authenticated, service_role;
