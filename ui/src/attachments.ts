// A ticket's attachments in words: what kind of file each is ("PDF",
// "Word document"), where its bytes are ("Available offline", "Uploading
// 42%"), whether it gets a thumbnail, and what attaching said. The ticket
// page (screens/TicketPage.tsx) draws them; the core decides the states.

import type { FileState, UploadProgress } from "./bindings";
import { plural } from "./labels";

/** A MIME type without parameters, in lower case: "Image/PNG; x=1" -> "image/png". */
function bareMime(mime: string | null | undefined): string {
  return (mime ?? "").split(";")[0].trim().toLowerCase();
}

/** Known types, by their MIME type, in words. */
const TYPE_WORDS: Record<string, string> = {
  "application/pdf": "PDF",
  "application/msword": "Word document",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
  "application/vnd.ms-excel": "Excel spreadsheet",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel spreadsheet",
  "application/vnd.ms-powerpoint": "PowerPoint presentation",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint presentation",
  "application/vnd.oasis.opendocument.text": "OpenDocument text",
  "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
  "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation",
  "application/zip": "ZIP archive",
  "application/octet-stream": "File",
  "text/plain": "Text",
  "text/csv": "CSV",
  "image/jpeg": "JPEG image",
  "image/svg+xml": "SVG image",
  "image/webp": "WebP image",
};

/**
 * A file's type as a person names it: "PDF", "PNG image", "Word document",
 * "Excel spreadsheet", "PowerPoint presentation"; an unknown type by its
 * subtype ("JSON", "x-foo" -> "foo"); "File" when there is none.
 */
export function fileTypeLabel(mime: string | null | undefined): string {
  const bare = bareMime(mime);
  const known = TYPE_WORDS[bare];
  if (known) return known;
  const [type, subtype = ""] = bare.split("/");
  const name = subtype.replace(/^(x-|vnd\.)/, "").replace(/\+.*$/, "");
  if (!name) return "File";
  // Short names are acronyms ("png", "json"); longer ones stay as written.
  const word = name.length <= 4 ? name.toUpperCase() : name;
  return type === "image" ? `${word} image` : word;
}

/**
 * The short mark shown in place of a thumbnail: the name's extension in
 * capitals ("report.pdf" -> "PDF", at most 4 letters), or "FILE".
 */
export function fileMark(fileName: string): string {
  const dot = fileName.lastIndexOf(".");
  const extension = dot > 0 ? fileName.slice(dot + 1).trim() : "";
  return /^[a-z0-9]{1,4}$/i.test(extension) ? extension.toUpperCase() : "FILE";
}

/** The image types the core makes thumbnails of. */
const PREVIEWED = new Set(["image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp"]);

/** Whether a file of this type gets a thumbnail (PNG, JPEG, GIF, WebP). */
export function hasThumbnail(mime: string | null | undefined): boolean {
  return PREVIEWED.has(bareMime(mime));
}

/**
 * Whether to ask the core for a thumbnail: an image whose bytes reached the
 * server or this device. A file still waiting was just attached here (it
 * shows once sent); a refused one has nothing to show.
 */
export function wantsThumbnail(mime: string | null | undefined, state: FileState): boolean {
  return hasThumbnail(mime) && (state === "available_offline" || state === "on_server");
}

/** How much of an upload went out, in whole percent (0..100; 0 while the size is unknown). */
export function uploadPercent(upload: Pick<UploadProgress, "sent" | "total"> | null | undefined): number {
  if (!upload || !(upload.total > 0)) return 0;
  const percent = Math.round((upload.sent / upload.total) * 100);
  return Math.min(100, Math.max(0, percent));
}

/**
 * Where an attachment's bytes are, in words. A waiting file that is the
 * one being uploaded right now (`upload`, from the sync status) says how
 * far it is.
 */
export function fileStateLabel(id: string, state: FileState, upload: UploadProgress | null | undefined): string {
  switch (state) {
    case "waiting":
      return upload?.attachment_id === id ? `Uploading ${uploadPercent(upload)}%` : "Waiting for network";
    case "available_offline":
      return "Available offline";
    case "on_server":
      return "On the server";
    case "refused":
      return "Refused — see the inbox";
    default:
      return String(state);
  }
}

/**
 * Who attached a file, as said after "by": "you" for the signed-in user,
 * their name, or "someone" when the replica does not know it.
 */
export function uploaderLabel(uploadedBy: string, name: string | null | undefined, me: string | null | undefined): string {
  if (me && uploadedBy === me) return "you";
  return name?.trim() || "someone";
}

/** What attaching did: "Attached report.pdf.", "Attached 3 files."; "" for none. */
export function attachedMessage(names: readonly string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `Attached ${names[0]}.`;
  return `Attached ${plural(names.length, "file")}.`;
}
