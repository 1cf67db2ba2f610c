-- Attachment files: the bytes behind a ticket_attachments row (issue 12).
--
-- The server stores an uploaded file's bytes once per content (keyed by
-- their SHA-256, so the same photo attached twice is kept once) and
-- describes it by a storage.objects row at `{ticket_id}/{file_name}`, made
-- as the uploader under the bucket's policies. A ticket_attachments row
-- describes that object for the ticket's readers. The three must agree, or
-- the back office would see an attachment it cannot open:
--
-- * an attachment row can only be written for an object that exists, of
--   the same size and type (the client uploads first, then syncs the row);
-- * an attachment's row is fixed once written: its name, size and type
--   describe the stored bytes, whose type the server read from their
--   content. Admins could correct the type before; now it is the file's
--   own, so nobody may (to rename, attach anew);
-- * deleting the attachment deletes its object in the same transaction;
--   an object still described by an attachment cannot be deleted alone;
-- * bytes no object refers to, and objects no attachment describes, are
--   removed by the server's housekeeping after a grace period
--   (`sync-server storage check|clean`): what a crash between upload and
--   sync leaves does not last.

ALTER TABLE storage.objects
    ADD COLUMN content_sha256 text CHECK (content_sha256 ~ '^[0-9a-f]{64}$');
-- Housekeeping asks "does any object still hold these bytes?".
CREATE INDEX objects_content_sha256_idx ON storage.objects (content_sha256);

DROP TRIGGER objects_immutable ON storage.objects;
CREATE TRIGGER objects_immutable BEFORE UPDATE ON storage.objects
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns(
        'id', 'bucket_id', 'name', 'owner', 'size', 'mime_type', 'content_sha256', 'created_at');

DROP TRIGGER ticket_attachments_immutable ON public.ticket_attachments;
CREATE TRIGGER ticket_attachments_immutable BEFORE UPDATE ON public.ticket_attachments
    FOR EACH ROW EXECUTE FUNCTION public.enforce_immutable_columns(
        'id', 'ticket_id', 'file_name', 'file_path', 'file_size', 'mime_type', 'uploaded_by', 'uploaded_at');

UPDATE sync.synced_tables SET updatable = '{}'::text[] WHERE name = 'ticket_attachments';

-- An attachment describes an uploaded object of its size and type. Read
-- as the writer: an object they may not see is one they may not describe.
CREATE FUNCTION public.enforce_attachment_has_file() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    o record;
BEGIN
    SELECT size, mime_type INTO o FROM storage.objects
     WHERE bucket_id = 'ticket-attachments' AND name = NEW.file_path;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the file % has not been uploaded; upload it before its attachment', NEW.file_name
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ticket_attachments_file_path_uploaded';
    END IF;
    IF o.size <> NEW.file_size OR o.mime_type <> NEW.mime_type THEN
        RAISE EXCEPTION 'the attachment says % bytes of %, but the uploaded file is % bytes of %',
            NEW.file_size, NEW.mime_type, o.size, o.mime_type
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ticket_attachments_file_path_uploaded';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION public.enforce_attachment_has_file() FROM PUBLIC;

CREATE TRIGGER ticket_attachments_has_file BEFORE INSERT ON public.ticket_attachments
    FOR EACH ROW EXECUTE FUNCTION public.enforce_attachment_has_file();

-- The attachment's object goes with it, whoever deleted it (its uploader,
-- an admin, or a ticket's deletion cascading): the delete was allowed, its
-- file follows. Per statement, like the other delete triggers.
CREATE FUNCTION public.delete_attachment_objects() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM set_config('crm.deleting_attachment', 'on', true);
    DELETE FROM storage.objects o
     USING deleted d
     WHERE o.bucket_id = 'ticket-attachments' AND o.name = d.file_path;
    PERFORM set_config('crm.deleting_attachment', '', true);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.delete_attachment_objects() FROM PUBLIC;

CREATE TRIGGER ticket_attachments_delete_objects AFTER DELETE ON public.ticket_attachments
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION public.delete_attachment_objects();

-- An object an attachment still describes is deleted with the attachment,
-- never alone (the back office would see a name it cannot open).
CREATE FUNCTION storage.protect_attached_objects() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    IF OLD.bucket_id = 'ticket-attachments'
       AND coalesce(current_setting('crm.deleting_attachment', true), '') <> 'on'
       AND EXISTS (SELECT 1 FROM public.ticket_attachments a WHERE a.file_path = OLD.name) THEN
        RAISE EXCEPTION 'the file % belongs to an attachment; delete the attachment', OLD.name
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END
$$;
REVOKE ALL ON FUNCTION storage.protect_attached_objects() FROM PUBLIC;

CREATE TRIGGER objects_protect_attached BEFORE DELETE ON storage.objects
    FOR EACH ROW EXECUTE FUNCTION storage.protect_attached_objects();
