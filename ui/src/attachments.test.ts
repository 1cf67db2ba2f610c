import { describe, expect, it } from "vitest";
import { attachedMessage, fileMark, fileStateLabel, fileTypeLabel, hasThumbnail, uploaderLabel, uploadPercent, wantsThumbnail } from "./attachments";
import type { UploadProgress } from "./bindings";

const upload = (over: Partial<UploadProgress> = {}): UploadProgress => ({
  attachment_id: "a1",
  file_name: "report.pdf",
  sent: 0,
  total: 100,
  ...over,
});

describe("a file's type", () => {
  it("names documents the way people call them", () => {
    expect(fileTypeLabel("application/pdf")).toBe("PDF");
    expect(fileTypeLabel("application/vnd.openxmlformats-officedocument.wordprocessingml.document")).toBe("Word document");
    expect(fileTypeLabel("application/msword")).toBe("Word document");
    expect(fileTypeLabel("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).toBe("Excel spreadsheet");
    expect(fileTypeLabel("application/vnd.ms-excel")).toBe("Excel spreadsheet");
    expect(fileTypeLabel("application/vnd.openxmlformats-officedocument.presentationml.presentation")).toBe("PowerPoint presentation");
    expect(fileTypeLabel("application/vnd.ms-powerpoint")).toBe("PowerPoint presentation");
  });

  it("names images by their format", () => {
    expect(fileTypeLabel("image/png")).toBe("PNG image");
    expect(fileTypeLabel("image/jpeg")).toBe("JPEG image");
    expect(fileTypeLabel("image/gif")).toBe("GIF image");
    expect(fileTypeLabel("image/webp")).toBe("WebP image");
  });

  it("ignores case and parameters", () => {
    expect(fileTypeLabel("Application/PDF")).toBe("PDF");
    expect(fileTypeLabel("text/plain; charset=utf-8")).toBe("Text");
  });

  it("falls back to the subtype for types it does not know", () => {
    expect(fileTypeLabel("application/json")).toBe("JSON");
    expect(fileTypeLabel("application/x-msdownload")).toBe("msdownload");
    expect(fileTypeLabel("application/vnd.foo+xml")).toBe("FOO");
  });

  it("says just file when there is no type", () => {
    expect(fileTypeLabel("")).toBe("File");
    expect(fileTypeLabel(null)).toBe("File");
    expect(fileTypeLabel("application/octet-stream")).toBe("File");
  });
});

describe("the mark in place of a thumbnail", () => {
  it("is the file's extension in capitals", () => {
    expect(fileMark("report.pdf")).toBe("PDF");
    expect(fileMark("Quote 2024.final.docx")).toBe("DOCX");
  });

  it("is a plain word when the name has no short extension", () => {
    expect(fileMark("README")).toBe("FILE");
    expect(fileMark(".profile")).toBe("FILE");
    expect(fileMark("backup.tar-archive")).toBe("FILE");
  });
});

describe("thumbnails", () => {
  it("are made for common photo and screenshot formats only", () => {
    for (const mime of ["image/png", "image/jpeg", "image/gif", "image/webp", "IMAGE/PNG"]) expect(hasThumbnail(mime)).toBe(true);
    for (const mime of ["image/svg+xml", "image/tiff", "application/pdf", ""]) expect(hasThumbnail(mime)).toBe(false);
  });

  it("are asked for only when the image reached this device or the server", () => {
    expect(wantsThumbnail("image/png", "available_offline")).toBe(true);
    expect(wantsThumbnail("image/png", "on_server")).toBe(true);
    expect(wantsThumbnail("image/png", "waiting")).toBe(false);
    expect(wantsThumbnail("image/png", "refused")).toBe(false);
    expect(wantsThumbnail("application/pdf", "available_offline")).toBe(false);
  });
});

describe("where a file is", () => {
  it("reads in words for each state", () => {
    expect(fileStateLabel("a1", "waiting", null)).toBe("Waiting for network");
    expect(fileStateLabel("a1", "available_offline", null)).toBe("Available offline");
    expect(fileStateLabel("a1", "on_server", null)).toBe("On the server");
    expect(fileStateLabel("a1", "refused", null)).toBe("Refused — see the inbox");
  });

  it("shows the upload's progress for the file being sent", () => {
    expect(fileStateLabel("a1", "waiting", upload({ sent: 42, total: 100 }))).toBe("Uploading 42%");
    expect(fileStateLabel("a1", "waiting", upload({ sent: 1, total: 3 }))).toBe("Uploading 33%");
  });

  it("keeps waiting for the other files while one is uploading", () => {
    expect(fileStateLabel("a2", "waiting", upload({ sent: 42 }))).toBe("Waiting for network");
  });

  it("ignores an upload report once the file has arrived", () => {
    expect(fileStateLabel("a1", "available_offline", upload({ sent: 100 }))).toBe("Available offline");
  });
});

describe("upload progress", () => {
  it("is a rounded, clamped whole percent", () => {
    expect(uploadPercent({ sent: 0, total: 200 })).toBe(0);
    expect(uploadPercent({ sent: 85, total: 200 })).toBe(43);
    expect(uploadPercent({ sent: 200, total: 200 })).toBe(100);
    expect(uploadPercent({ sent: 300, total: 200 })).toBe(100);
  });

  it("is zero while the size is unknown", () => {
    expect(uploadPercent({ sent: 10, total: 0 })).toBe(0);
    expect(uploadPercent(null)).toBe(0);
  });
});

describe("who attached a file", () => {
  it("is you for the signed-in user", () => {
    expect(uploaderLabel("me", "Ada Lovelace", "me")).toBe("you");
  });

  it("is the colleague's name, or someone when unknown", () => {
    expect(uploaderLabel("u2", "Ben Okri", "me")).toBe("Ben Okri");
    expect(uploaderLabel("u2", null, "me")).toBe("someone");
    expect(uploaderLabel("u2", "  ", "me")).toBe("someone");
  });
});

describe("after attaching", () => {
  it("names a single file, and counts several", () => {
    expect(attachedMessage(["meter.png"])).toBe("Attached meter.png.");
    expect(attachedMessage(["a.pdf", "b.pdf", "c.pdf"])).toBe("Attached 3 files.");
  });

  it("says nothing when nothing was attached", () => {
    expect(attachedMessage([])).toBe("");
  });
});
