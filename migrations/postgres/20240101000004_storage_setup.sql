-- 4/5 File storage: Supabase Storage's model without Supabase. A `storage`
-- schema with buckets and objects; the bytes live outside the database (the
-- sync server's data directory), the objects table holds what is known of
-- them and decides, through RLS, who may read or write which path.
--
-- The `ticket-attachments` bucket is private, takes files up to 50 MB of the
-- allowed types (images, PDF, Office documents), at paths
-- `{ticket_id}/{filename}`, and follows ticket access.

CREATE SCHEMA IF NOT EXISTS storage;
REVOKE ALL ON SCHEMA storage FROM PUBLIC;
GRANT USAGE ON SCHEMA storage TO authenticated, service_role;

CREATE TABLE storage.buckets (
    id                 text PRIMARY KEY,
    name               text NOT NULL UNIQUE,
    public             boolean NOT NULL DEFAULT false,
    file_size_limit    bigint CHECK (file_size_limit > 0),
    allowed_mime_types text[],
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE storage.objects (
    id               uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
    bucket_id        text NOT NULL REFERENCES storage.buckets (id),
    name             text NOT NULL CHECK (name <> '' AND octet_length(name) <= 1024),
    owner            uuid DEFAULT auth.uid(),
    size             bigint NOT NULL CHECK (size > 0),
    mime_type        text NOT NULL,
    metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bucket_id, name)
);
CREATE INDEX objects_owner_idx ON storage.objects (owner);

CREATE TRIGGER buckets_updated_at BEFORE UPDATE ON storage.buckets
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE TRIGGER objects_updated_at BEFORE UPDATE ON storage.objects
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- The path's folders, as Supabase's storage.foldername() gives them.
CREATE FUNCTION storage.foldername(p_name text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT (string_to_array(p_name, '/'))[1:cardinality(string_to_array(p_name, '/')) - 1]
$$;

CREATE FUNCTION storage.filename(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT (string_to_array(p_name, '/'))[cardinality(string_to_array(p_name, '/'))]
$$;

-- The ticket an attachment path belongs to, or NULL when the path is not of
-- the shape `{uuid}/{filename}` (never an error: a policy must not throw on a
-- hostile path, just refuse it).
CREATE FUNCTION storage.ticket_id_of(p_name text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT CASE
        WHEN p_name ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/[^/]+$'
             AND storage.filename(p_name) NOT IN ('.', '..')
        THEN split_part(p_name, '/', 1)::uuid
    END
$$;

GRANT EXECUTE ON FUNCTION storage.foldername(text), storage.filename(text), storage.ticket_id_of(text)
    TO authenticated, service_role;

-- The bucket's limits hold for every writer, service_role included.
CREATE FUNCTION storage.enforce_bucket_rules() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    b storage.buckets;
BEGIN
    SELECT * INTO b FROM storage.buckets WHERE id = NEW.bucket_id;
    IF b.file_size_limit IS NOT NULL AND NEW.size > b.file_size_limit THEN
        RAISE EXCEPTION 'file is % bytes; bucket % takes at most % bytes', NEW.size, b.id, b.file_size_limit
            USING ERRCODE = 'check_violation';
    END IF;
    IF b.allowed_mime_types IS NOT NULL AND NOT (NEW.mime_type = ANY (b.allowed_mime_types)) THEN
        RAISE EXCEPTION 'bucket % does not take files of type %', b.id, NEW.mime_type
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.bucket_id = 'ticket-attachments' AND storage.ticket_id_of(NEW.name) IS NULL THEN
        RAISE EXCEPTION 'a ticket attachment is stored at {ticket_id}/{filename}, not at %', NEW.name
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER objects_bucket_rules BEFORE INSERT OR UPDATE ON storage.objects
    FOR EACH ROW EXECUTE FUNCTION storage.enforce_bucket_rules();
CREATE TRIGGER objects_immutable BEFORE UPDATE ON storage.objects
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns('id', 'bucket_id', 'owner', 'created_at');

INSERT INTO storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
VALUES ('ticket-attachments', 'ticket-attachments', false, 52428800, ARRAY[
    'image/png', 'image/jpeg', 'image/gif', 'image/webp',
    'application/pdf',
    'application/msword',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.ms-excel',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'application/vnd.ms-powerpoint',
    'application/vnd.openxmlformats-officedocument.presentationml.presentation'])
ON CONFLICT (id) DO NOTHING;

GRANT SELECT ON storage.buckets TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON storage.objects TO authenticated;
GRANT ALL ON storage.buckets, storage.objects TO service_role;

ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage.buckets FORCE ROW LEVEL SECURITY;
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage.objects FORCE ROW LEVEL SECURITY;

-- Buckets are configuration: readable by everyone signed in, managed by
-- service_role only (no policy for writes).
CREATE POLICY buckets_select ON storage.buckets FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) IS NOT NULL);

-- Objects in ticket-attachments follow ticket access, like the
-- ticket_attachments rows that describe them.
CREATE POLICY ticket_attachment_objects_select ON storage.objects FOR SELECT TO authenticated
    USING (bucket_id = 'ticket-attachments'
           AND public.can_access_ticket(storage.ticket_id_of(name))
           AND (SELECT public.token_permits('attachments:read')));
CREATE POLICY ticket_attachment_objects_insert ON storage.objects FOR INSERT TO authenticated
    WITH CHECK (bucket_id = 'ticket-attachments'
                AND owner = (SELECT auth.uid())
                AND public.can_access_ticket(storage.ticket_id_of(name))
                AND (SELECT public.token_permits('attachments:write')));
CREATE POLICY ticket_attachment_objects_update ON storage.objects FOR UPDATE TO authenticated
    USING (bucket_id = 'ticket-attachments'
           AND owner = (SELECT auth.uid())
           AND public.can_access_ticket(storage.ticket_id_of(name))
           AND (SELECT public.token_permits('attachments:write')))
    WITH CHECK (bucket_id = 'ticket-attachments'
                AND owner = (SELECT auth.uid())
                AND public.can_access_ticket(storage.ticket_id_of(name))
                AND (SELECT public.token_permits('attachments:write')));
CREATE POLICY ticket_attachment_objects_delete ON storage.objects FOR DELETE TO authenticated
    USING (bucket_id = 'ticket-attachments'
           AND (owner = (SELECT auth.uid()) OR (SELECT public.is_admin()))
           AND public.can_access_ticket(storage.ticket_id_of(name))
           AND (SELECT public.token_permits('attachments:write')));
