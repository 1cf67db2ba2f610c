//! Attachment files as the bucket's rules see them: what a file *is* (read
//! from its first bytes, never from its name or a `Content-Type` header),
//! whether it carries active content, and what name it may be stored
//! under. Pure, so the desktop app refuses offline what the server would
//! refuse, with the same words, and the server enforces it while the bytes
//! stream in.
//!
//! The type is decided by magic bytes (the `infer` crate's matchers, which
//! also look inside Office containers to tell a .docx from an .xlsx and a
//! .doc from an .xls) against [`ALLOWED_ATTACHMENT_MIME_TYPES`]. Active
//! content is looked for across the whole stream by [`ActiveContentScan`]:
//! macros in Office files (a `vbaProject.bin` part, a `_VBA_PROJECT` or
//! `Macros` storage) and scripts or launch actions in PDFs (`/JavaScript`,
//! `/JS`, `/Launch`, `/EmbeddedFile`, `/RichMedia`). A PDF may hide such a
//! name inside a compressed object stream; reading those would mean
//! inflating untrusted streams on the server, so they are not, and the
//! download answers carry `Content-Security-Policy: sandbox` and
//! `X-Content-Type-Options: nosniff` besides.

use crate::validation::{
    ALLOWED_ATTACHMENT_MIME_TYPES, ATTACHMENT_FILE_NAME_MAX_BYTES, MAX_ATTACHMENT_BYTES,
};

/// How many of a file's first bytes decide its type: enough for an Office
/// container's first entries (`infer` looks a few KiB in), small enough to
/// hold while the rest streams.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// A file the server stored, as its storage API answers an upload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredFile {
    /// `{ticket_id}/{file_name}`: the attachment's `file_path`.
    pub path: String,
    pub ticket_id: uuid::Uuid,
    /// The name it is stored under: numbered if another file of the
    /// ticket had the name.
    pub file_name: String,
    pub size: i64,
    /// Read from the content.
    pub mime_type: String,
    pub sha256: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Why a file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRefusal {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {} MiB", MAX_ATTACHMENT_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("{0} files cannot be attached; attach images, PDFs or Office documents")]
    TypeNotAllowed(String),
    #[error("the file's type could not be recognised; attach images, PDFs or Office documents")]
    UnknownType,
    #[error("the file contains {0}, which could run when it is opened")]
    ActiveContent(&'static str),
    #[error("the file name {0}")]
    BadName(&'static str),
}

/// The file's type by its content: an allowed MIME type, or why not.
/// `head` is the file's first [`SNIFF_BYTES`] bytes (all of it if shorter).
pub fn sniff(head: &[u8]) -> Result<&'static str, FileRefusal> {
    if head.is_empty() {
        return Err(FileRefusal::Empty);
    }
    let kind = infer::get(head);
    if kind.is_none_or(|k| k.matcher_type() == infer::MatcherType::Text) {
        // Markup is named, so the refusal says why.
        let start = String::from_utf8_lossy(&head[..head.len().min(1024)]).to_ascii_lowercase();
        if start.contains("<svg") {
            return Err(FileRefusal::TypeNotAllowed("SVG".into()));
        }
        if start.contains("<html") || start.contains("<!doctype html") || start.contains("<script")
        {
            return Err(FileRefusal::TypeNotAllowed("HTML".into()));
        }
    }
    let Some(kind) = kind else {
        return Err(FileRefusal::UnknownType);
    };
    ALLOWED_ATTACHMENT_MIME_TYPES
        .iter()
        .find(|allowed| **allowed == kind.mime_type())
        .copied()
        .ok_or_else(|| FileRefusal::TypeNotAllowed(describe(kind.mime_type(), kind.extension())))
}

fn describe(mime: &str, extension: &str) -> String {
    match mime {
        "application/x-executable"
        | "application/vnd.microsoft.portable-executable"
        | "application/x-mach-binary"
        | "application/x-msdownload" => "program".into(),
        "image/svg+xml" => "SVG".into(),
        "text/html" => "HTML".into(),
        _ if extension.is_empty() => mime.into(),
        _ => format!(".{extension}"),
    }
}

/// What marks active content, by the family of file it appears in. Each is
/// looked for as raw bytes; Office's storage names in OLE files are UTF-16.
const PDF_MARKERS: &[(&[u8], &str)] = &[
    (b"/JavaScript", "a script"),
    (b"/JS ", "a script"),
    (b"/JS(", "a script"),
    (b"/JS<", "a script"),
    (b"/Launch", "a launch action"),
    (b"/EmbeddedFile", "an embedded file"),
    (b"/RichMedia", "embedded media"),
];
const OOXML_MARKERS: &[(&[u8], &str)] = &[(b"vbaProject.bin", "macros")];
const OLE_MARKERS: &[(&[u8], &str)] = &[
    (b"_\0V\0B\0A\0_\0P\0R\0O\0J\0E\0C\0T\0", "macros"),
    (b"M\0a\0c\0r\0o\0s\0", "macros"),
];

/// Looks for active content across a file streamed in chunks of any size:
/// the tail of each chunk is kept so a marker split between two is found.
#[derive(Debug, Clone)]
pub struct ActiveContentScan {
    markers: &'static [(&'static [u8], &'static str)],
    carry: Vec<u8>,
    found: Option<&'static str>,
}

impl ActiveContentScan {
    /// A scan for files of `mime_type` (as [`sniff`] gave it).
    pub fn new(mime_type: &str) -> Self {
        let markers: &'static [(&'static [u8], &'static str)] = match mime_type {
            "application/pdf" => PDF_MARKERS,
            "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint" => {
                OLE_MARKERS
            }
            m if m.starts_with("application/vnd.openxmlformats-officedocument.") => OOXML_MARKERS,
            _ => &[],
        };
        Self {
            markers,
            carry: Vec::new(),
            found: None,
        }
    }

    /// Feeds the next bytes of the file.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.markers.is_empty() || self.found.is_some() {
            return;
        }
        let longest = self.markers.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        // The tail of the previous chunk with the head of this one catches
        // a marker split between them; the chunk itself is searched where
        // it lies (memchr's SIMD search: the scan keeps pace with a disk).
        let mut seam = std::mem::take(&mut self.carry);
        seam.extend_from_slice(&chunk[..chunk.len().min(longest.saturating_sub(1))]);
        self.found = self.search(&seam).or_else(|| self.search(chunk));
        let keep = longest.saturating_sub(1);
        self.carry = if chunk.len() >= keep {
            chunk[chunk.len() - keep..].to_vec()
        } else {
            let mut tail = seam;
            let from = tail.len().saturating_sub(keep);
            tail.split_off(from)
        };
    }

    /// The first marker in `hay`: one pass per distinct first byte of the
    /// markers (memchr's SIMD search), each candidate checked in place.
    /// PDF names all start with `/`, so a PDF is read once however many
    /// markers there are.
    fn search(&self, hay: &[u8]) -> Option<&'static str> {
        let mut firsts: Vec<u8> = self
            .markers
            .iter()
            .filter_map(|(m, _)| m.first().copied())
            .collect();
        firsts.sort_unstable();
        firsts.dedup();
        firsts.into_iter().find_map(|first| {
            memchr::memchr_iter(first, hay).find_map(|at| {
                self.markers
                    .iter()
                    .find(|(marker, _)| hay[at..].starts_with(marker))
                    .map(|(_, what)| *what)
            })
        })
    }

    /// What active content was seen, if any.
    pub fn verdict(&self) -> Result<(), FileRefusal> {
        match self.found {
            Some(what) => Err(FileRefusal::ActiveContent(what)),
            None => Ok(()),
        }
    }
}

/// The name a file is stored under, from the name it came with: no path
/// (only what follows the last `/` or `\`), no control characters, no
/// leading or trailing dots and spaces, at most
/// [`ATTACHMENT_FILE_NAME_MAX_BYTES`] bytes (cut in the stem, so the
/// extension survives). Refused when nothing is left.
pub fn normalise_file_name(name: &str) -> Result<String, FileRefusal> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        return Err(FileRefusal::BadName(
            "is empty once its path and control characters are removed",
        ));
    }
    Ok(fit(trimmed, ATTACHMENT_FILE_NAME_MAX_BYTES))
}

/// `name` cut to `max` bytes on a character boundary, keeping a short
/// extension whole.
fn fit(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, ext) = split_extension(name);
    let ext_len = ext.map_or(0, |e| e.len() + 1);
    let mut cut = max.saturating_sub(ext_len);
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    match ext {
        Some(ext) if ext_len < max => format!("{}.{ext}", &stem[..cut]),
        _ => {
            let mut cut = max;
            while !name.is_char_boundary(cut) {
                cut -= 1;
            }
            name[..cut].to_owned()
        }
    }
}

/// `report.final.pdf` → (`report.final`, `Some("pdf")`); an extension is
/// at most 10 bytes and the stem is never empty.
fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.len() <= 10 => {
            (stem, Some(ext))
        }
        _ => (name, None),
    }
}

/// The `n`th alternative to a taken name: `report (2).pdf`, `report
/// (3).pdf`, ..., still within the length limit.
pub fn numbered_file_name(name: &str, n: u32) -> String {
    let (stem, ext) = split_extension(name);
    let suffix = match ext {
        Some(ext) => format!(" ({n}).{ext}"),
        None => format!(" ({n})"),
    };
    let mut cut = ATTACHMENT_FILE_NAME_MAX_BYTES
        .saturating_sub(suffix.len())
        .min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &stem[..cut])
}

/// A file name as one segment of a URL path: RFC 3986 percent-encoding
/// of everything but the unreserved characters, so no name can add a
/// segment, a query or a fragment.
pub fn url_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n";
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0";

    #[test]
    fn the_type_comes_from_the_content_not_the_name() {
        assert_eq!(sniff(PNG), Ok("image/png"));
        assert_eq!(sniff(PDF), Ok("application/pdf"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0"), Ok("image/jpeg"));
        let mut elf = ELF.to_vec();
        elf.resize(64, 0);
        assert_eq!(
            sniff(&elf),
            Err(FileRefusal::TypeNotAllowed("program".into()))
        );
        assert_eq!(
            sniff(b"MZ\x90\0\x03\0\0\0\x04\0")
                .map_err(|e| matches!(e, FileRefusal::TypeNotAllowed(_))),
            Err(true)
        );
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"),
            Err(FileRefusal::TypeNotAllowed("SVG".into()))
        );
        assert_eq!(sniff(b"just some words"), Err(FileRefusal::UnknownType));
        assert_eq!(sniff(b""), Err(FileRefusal::Empty));
    }

    #[test]
    fn active_content_is_found_even_across_chunk_boundaries() {
        let pdf = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>";
        for split in 1..pdf.len() {
            let mut scan = ActiveContentScan::new("application/pdf");
            scan.feed(&pdf[..split]);
            scan.feed(&pdf[split..]);
            assert_eq!(
                scan.verdict(),
                Err(FileRefusal::ActiveContent("a script")),
                "split at {split}"
            );
        }
        let mut clean = ActiveContentScan::new("application/pdf");
        clean.feed(PDF);
        assert_eq!(clean.verdict(), Ok(()));

        let mut macros = ActiveContentScan::new(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        );
        macros.feed(b"PK\x03\x04....word/vbaProj");
        macros.feed(b"ect.bin....");
        assert_eq!(macros.verdict(), Err(FileRefusal::ActiveContent("macros")));
        // Images have no markers: nothing is held or searched.
        let mut image = ActiveContentScan::new("image/png");
        image.feed(b"/JavaScript");
        assert_eq!(image.verdict(), Ok(()));
    }

    #[test]
    fn hostile_names_become_plain_file_names() {
        for (given, stored) in [
            ("../../etc/passwd", "passwd"),
            ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
            ("report\u{0}.pdf", "report.pdf"),
            ("line\nbreak.pdf", "linebreak.pdf"),
            ("  .hidden.pdf. ", "hidden.pdf"),
            ("Übersicht März.docx", "Übersicht März.docx"),
        ] {
            assert_eq!(
                normalise_file_name(given).as_deref(),
                Ok(stored),
                "{given:?}"
            );
        }
        for empty in ["", "..", ".", "a/", "dir/..", "\u{1}\u{2}"] {
            assert!(normalise_file_name(empty).is_err(), "{empty:?}");
        }
    }

    #[test]
    fn a_long_name_is_cut_in_its_stem_and_keeps_its_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let stored = normalise_file_name(&long).unwrap();
        assert!(stored.len() <= ATTACHMENT_FILE_NAME_MAX_BYTES);
        assert!(stored.ends_with("é.pdf"), "{stored}");
        crate::validation::validate_attachment_file_name(&stored).unwrap();
    }

    #[test]
    fn a_taken_name_gets_a_number_before_its_extension() {
        assert_eq!(numbered_file_name("report.pdf", 2), "report (2).pdf");
        assert_eq!(numbered_file_name("README", 3), "README (3)");
        let long = format!("{}.pdf", "a".repeat(251));
        let numbered = numbered_file_name(&long, 12);
        assert!(numbered.len() <= ATTACHMENT_FILE_NAME_MAX_BYTES);
        assert!(numbered.ends_with(" (12).pdf"));
    }
}
