-- A refused mutation says which field it concerns.
--
-- Why: a refusal by a named constraint ("customers_phone_check") or a
-- missing value reached the agent as PostgreSQL's sentence only; the inbox
-- should say "phone: ..." and point at the field. sync.apply_group now
-- returns the constraint and column PostgreSQL names with the error
-- (GET STACKED DIAGNOSTICS), and the server maps them to a field through
-- the catalogue. Everything else is as in ..._sync_push_groups_ready.

DROP FUNCTION sync.apply_run(jsonb);
DROP FUNCTION sync.apply_group(text, text, jsonb, jsonb);

CREATE FUNCTION sync.apply_group(p_table text, p_op text, p_rows jsonb, p_seqs jsonb)
RETURNS TABLE (seq bigint, err_code text, err_message text, err_constraint text, err_column text)
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
            RETURN QUERY SELECT (p_seqs ->> (x ->> 'id'))::bigint, NULL::text, NULL::text,
                                NULL::text, NULL::text
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
        err_constraint := NULL;
        err_column := NULL;
        BEGIN
            PERFORM set_config('crm.client_seq', seq::text, true);
            IF p_op = 'insert' THEN
                PERFORM sync.apply_insert(p_table, (r ->> 'id')::uuid, r - 'id');
            ELSIF NOT sync.apply_delete(p_table, (r ->> 'id')::uuid) THEN
                err_code := 'P0002';
                err_message := 'not found';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_code = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                    err_constraint = CONSTRAINT_NAME, err_column = COLUMN_NAME;
            err_constraint := nullif(err_constraint, '');
            err_column := nullif(err_column, '');
        END;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE FUNCTION sync.apply_run(p_groups jsonb)
RETURNS TABLE (seq bigint, err_code text, err_message text, err_constraint text, err_column text)
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
