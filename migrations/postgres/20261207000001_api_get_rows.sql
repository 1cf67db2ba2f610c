-- The API answers a group of creates (`api::group`) with their rows read
-- back in one statement per table, as the caller sees them (row-level
-- security applies: SECURITY INVOKER, like `api.get_row`). A row the
-- caller may not read is simply not returned.
CREATE FUNCTION api.get_rows(p_table text, p_ids uuid[]) RETURNS TABLE (id uuid, row_json text)
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $_$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT t.id, to_jsonb(t)::text FROM %s t WHERE t.id = ANY($1)',
        sync.checked_table(p_table))
        USING p_ids;
END
$_$;
REVOKE ALL ON FUNCTION api.get_rows(text, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_rows(text, uuid[]) TO authenticated;
