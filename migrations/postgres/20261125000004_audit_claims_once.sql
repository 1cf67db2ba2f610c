-- The audit trigger read the caller's claims twice per row, each time
-- through a non-inlinable function parsing the JSON again; it was most of
-- the cost of every write. Read them once. Behaviour is unchanged.
CREATE OR REPLACE FUNCTION public.create_audit_history() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
    claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD) - 'token_hash';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW) - 'token_hash';
    END IF;
    IF TG_OP = 'UPDATE' AND (old_row - 'updated_at') = (new_row - 'updated_at') THEN
        RETURN NULL;
    END IF;

    INSERT INTO public.audit_history
        (table_name, record_id, action, old_values, new_values, changed_by, integration_token_id,
         client_id, client_seq)
    VALUES
        (TG_TABLE_NAME, (coalesce(new_row, old_row) ->> 'id')::uuid, TG_OP, old_row, new_row,
         nullif(claims ->> 'sub', '')::uuid, nullif(claims ->> 'integration_token_id', '')::uuid,
         nullif(current_setting('crm.client_id', true), '')::uuid,
         nullif(current_setting('crm.client_seq', true), '')::bigint);
    RETURN NULL;
END
$$;
