-- Applying a run of inserts and deletes in one call. A push spent most of
-- its time on round trips (a savepoint, settings, the change, bookkeeping:
-- about eight per mutation). Consecutive inserts and deletes — most of an
-- outbox — now go to the database together; each still gets its own
-- subtransaction (the EXCEPTION block), so one refused mutation rolls back
-- alone, exactly as with a savepoint. Runs as the caller: RLS and the
-- triggers decide, as before.
--
-- p_mutations: [{"seq": 7, "op": "insert"|"delete", "table": "...",
-- "row_id": "...", "values": {...}}]. Returns one row per mutation: its
-- error's SQLSTATE and message, or NULLs when it was applied. A delete that
-- found nothing reports P0002.
CREATE FUNCTION sync.apply_run(p_mutations jsonb)
RETURNS TABLE (seq bigint, err_code text, err_message text)
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    m jsonb;
BEGIN
    FOR m IN SELECT value FROM jsonb_array_elements(p_mutations) LOOP
        seq := (m ->> 'seq')::bigint;
        err_code := NULL;
        err_message := NULL;
        BEGIN
            PERFORM set_config('crm.client_seq', seq::text, true);
            IF m ->> 'op' = 'insert' THEN
                PERFORM sync.apply_insert(m ->> 'table', (m ->> 'row_id')::uuid, m -> 'values');
            ELSIF NOT sync.apply_delete(m ->> 'table', (m ->> 'row_id')::uuid) THEN
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
GRANT EXECUTE ON FUNCTION sync.apply_run(jsonb) TO authenticated, service_role;
