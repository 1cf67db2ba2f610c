//! Files sealed at rest: the attachment cache's format. The replica is
//! encrypted by SQLCipher; the files beside it are sealed here, with a key
//! kept inside the replica (so the replica's key, in the keyring or from
//! the passphrase, opens both, and forgetting it loses both).
//!
//! The format is the STREAM construction (Hoang, Reyhanitabar, Rogaway and
//! Vizár) over XChaCha20-Poly1305, from RustCrypto's `aead::stream`:
//!
//! ```text
//! magic "CRMSEAL1" (8) | nonce prefix (19, random per file) | chunks
//! chunk = 64 KiB of plaintext sealed (+16 tag); the last one, possibly
//!         short or empty, is sealed as the last
//! ```
//!
//! Each chunk is authenticated with its position, so a chunk changed,
//! moved, dropped or cut short fails to open (`InvalidData`), and a file
//! whose last chunk is missing (a copy cut short) does too. Files are
//! read and written a chunk at a time: a 50 MB file never sits in memory.
//!
//! No allowed attachment type starts with the magic (each is recognised by
//! its own first bytes), so a file written by an older version, in the
//! clear, is told apart and still read until it is sealed
//! ([`seal_in_place`]).

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use rand::RngCore;

/// The first bytes of every sealed file (and the chunks' associated data,
/// binding them to this version of the format).
pub const MAGIC: &[u8; 8] = b"CRMSEAL1";
/// Plaintext bytes per chunk.
const CHUNK: usize = 64 * 1024;
/// Poly1305's tag, after each chunk.
const TAG: usize = 16;
/// XChaCha20's 24-byte nonce less STREAM's 32-bit counter and last flag.
const PREFIX: usize = 19;
const HEADER: usize = MAGIC.len() + PREFIX;

/// The key that seals one replica's files: 32 random bytes.
#[derive(Clone)]
pub struct FileKey(Arc<[u8; 32]>);

impl FileKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(Arc::new(key))
    }

    /// The key as kept (hex), in the replica.
    pub fn to_hex(&self) -> String {
        crate::store::attachments::hex(self.0.as_slice())
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        crate::vault::unhex(text).map(|key| Self(Arc::new(key)))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_slice().into())
    }
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(..)")
    }
}

fn broken(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("a sealed file is damaged or was altered ({what})"),
    )
}

/// Writes a sealed file: bytes go in, sealed chunks go to `inner`.
/// [`SealWriter::finish`] seals the last chunk; a writer dropped without
/// it leaves a file that will not open, never a shorter one that would.
pub struct SealWriter<W: Write> {
    inner: W,
    stream: Option<EncryptorBE32<XChaCha20Poly1305>>,
    buffer: Vec<u8>,
}

impl<W: Write> SealWriter<W> {
    pub fn new(key: &FileKey, mut inner: W) -> io::Result<Self> {
        let mut prefix = [0u8; PREFIX];
        rand::rng().fill_bytes(&mut prefix);
        inner.write_all(MAGIC)?;
        inner.write_all(&prefix)?;
        Ok(Self {
            inner,
            stream: Some(EncryptorBE32::from_aead(
                key.cipher(),
                prefix.as_slice().into(),
            )),
            buffer: Vec::with_capacity(CHUNK + TAG),
        })
    }

    /// Seals the last chunk and hands back the writer (to sync it).
    pub fn finish(mut self) -> io::Result<W> {
        let stream = self
            .stream
            .take()
            .ok_or_else(|| io::Error::other("sealed file already finished"))?;
        let mut last = std::mem::take(&mut self.buffer);
        stream
            .encrypt_last_in_place(MAGIC, &mut last)
            .map_err(|_| io::Error::other("sealing failed"))?;
        self.inner.write_all(&last)?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    /// Seals the full chunk held (more bytes follow it, so it is not the
    /// last).
    fn seal_chunk(&mut self) -> io::Result<()> {
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| io::Error::other("sealed file already finished"))?;
        stream
            .encrypt_next_in_place(MAGIC, &mut self.buffer)
            .map_err(|_| io::Error::other("sealing failed"))?;
        self.inner.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if bytes.is_empty() {
            return Ok(0);
        }
        // A full chunk waits for the next byte: only then is it known
        // not to be the last.
        if self.buffer.len() == CHUNK {
            self.seal_chunk()?;
        }
        let n = bytes.len().min(CHUNK - self.buffer.len());
        self.buffer.extend_from_slice(&bytes[..n]);
        Ok(n)
    }

    /// Chunks are sealed as they fill; this flushes what is sealed.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads a sealed file's plaintext, checking each chunk as it comes.
pub struct Unsealed<R: Read> {
    inner: R,
    stream: Option<DecryptorBE32<XChaCha20Poly1305>>,
    /// Sealed bytes read ahead (a chunk, and one byte more to know
    /// whether it is the last).
    sealed: Vec<u8>,
    plain: Vec<u8>,
    at: usize,
}

impl<R: Read> Unsealed<R> {
    /// Reads the header; `InvalidData` if `inner` is not a sealed file.
    pub fn new(key: &FileKey, mut inner: R) -> io::Result<Self> {
        let mut header = [0u8; HEADER];
        read_full(&mut inner, &mut header).and_then(|n| {
            if n == HEADER {
                Ok(())
            } else {
                Err(broken("header"))
            }
        })?;
        if &header[..MAGIC.len()] != MAGIC {
            return Err(broken("not a sealed file"));
        }
        Ok(Self {
            inner,
            stream: Some(DecryptorBE32::from_aead(
                key.cipher(),
                header[MAGIC.len()..].into(),
            )),
            sealed: Vec::with_capacity(CHUNK + TAG + 1),
            plain: Vec::new(),
            at: 0,
        })
    }

    /// Opens the next chunk into `plain`; false at the end.
    fn next_chunk(&mut self) -> io::Result<bool> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(false);
        };
        let held = self.sealed.len();
        self.sealed.resize(CHUNK + TAG + 1, 0);
        let n = read_full(&mut self.inner, &mut self.sealed[held..])?;
        self.sealed.truncate(held + n);
        let mut chunk = std::mem::take(&mut self.plain);
        chunk.clear();
        if self.sealed.len() > CHUNK + TAG {
            // More follows: a full chunk, not the last.
            chunk.extend_from_slice(&self.sealed[..CHUNK + TAG]);
            self.sealed.drain(..CHUNK + TAG);
            stream
                .decrypt_next_in_place(MAGIC, &mut chunk)
                .map_err(|_| broken("a chunk does not open"))?;
        } else {
            chunk.append(&mut self.sealed);
            let stream = self.stream.take().ok_or_else(|| broken("state"))?;
            stream
                .decrypt_last_in_place(MAGIC, &mut chunk)
                .map_err(|_| broken("the file was cut short or its end altered"))?;
        }
        self.plain = chunk;
        self.at = 0;
        Ok(true)
    }
}

impl<R: Read> Read for Unsealed<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.plain.len() {
            if !self.next_chunk()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.plain.len() - self.at);
        out[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Reads until `buf` is full or the source ends; how much was read.
fn read_full(source: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A cached file's bytes: sealed (every file this version writes), or in
/// the clear (one an older version wrote, until it is sealed).
pub enum FileReader {
    Sealed(Box<Unsealed<io::BufReader<std::fs::File>>>),
    Clear(io::BufReader<std::fs::File>),
}

impl Read for FileReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Sealed(r) => r.read(out),
            Self::Clear(r) => r.read(out),
        }
    }
}

/// Opens a cached file for reading, sealed or (left by an older version)
/// in the clear.
pub fn open(key: &FileKey, path: &Path) -> io::Result<FileReader> {
    if is_sealed(path)? {
        let file = io::BufReader::with_capacity(CHUNK + TAG, std::fs::File::open(path)?);
        Ok(FileReader::Sealed(Box::new(Unsealed::new(key, file)?)))
    } else {
        Ok(FileReader::Clear(io::BufReader::new(std::fs::File::open(
            path,
        )?)))
    }
}

/// Whether the file at `path` starts as a sealed one.
pub fn is_sealed(path: &Path) -> io::Result<bool> {
    let mut head = [0u8; MAGIC.len()];
    let n = read_full(&mut std::fs::File::open(path)?, &mut head)?;
    Ok(n == MAGIC.len() && &head == MAGIC)
}

/// Seals a file left in the clear (by an older version): a sealed copy is
/// written and synced beside it, then takes its place, so a crash leaves
/// one or the other whole. False if it was sealed already.
pub fn seal_in_place(key: &FileKey, path: &Path) -> io::Result<bool> {
    if is_sealed(path)? {
        return Ok(false);
    }
    let temp = path.with_extension("sealing");
    let result = (|| {
        let mut source = std::fs::File::open(path)?;
        let out = std::fs::File::create(&temp)?;
        let mut writer = SealWriter::new(key, io::BufWriter::new(out))?;
        io::copy(&mut source, &mut writer)?;
        let out = writer.finish()?.into_inner().map_err(|e| e.into_error())?;
        out.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map(|()| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(key: &FileKey, plain: &[u8]) -> Vec<u8> {
        let mut writer = SealWriter::new(key, Vec::new()).unwrap();
        // Odd pieces, as a reader hands them over.
        for piece in plain.chunks(10_007) {
            writer.write_all(piece).unwrap();
        }
        writer.finish().unwrap()
    }

    fn unseal(key: &FileKey, sealed: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Unsealed::new(key, sealed)?.read_to_end(&mut out)?;
        Ok(out)
    }

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn files_of_every_length_round_trip_around_the_chunk_edges() {
        let key = FileKey::generate();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17] {
            let plain = bytes(len);
            let sealed = seal(&key, &plain);
            assert_eq!(&sealed[..MAGIC.len()], MAGIC);
            // A full last chunk is sealed as the last; an empty file has one.
            let chunks = len.div_ceil(CHUNK).max(1);
            assert_eq!(sealed.len(), HEADER + len + chunks * TAG, "{len} bytes");
            assert_eq!(unseal(&key, &sealed).unwrap(), plain, "{len} bytes");
        }
    }

    #[test]
    fn the_plaintext_is_nowhere_in_a_sealed_file() {
        let key = FileKey::generate();
        let plain = b"%PDF-1.7 Invoice 2026-118 to Acme Meters Ltd, total 1,234.00 EUR".repeat(50);
        let sealed = seal(&key, &plain);
        assert!(
            !sealed
                .windows(16)
                .any(|w| plain.windows(16).any(|p| p == w))
        );
        // The same bytes sealed twice differ (a fresh nonce per file).
        assert_ne!(seal(&key, &plain), sealed);
    }

    #[test]
    fn another_key_a_changed_byte_a_cut_or_a_dropped_chunk_does_not_open() {
        let key = FileKey::generate();
        let plain = bytes(3 * CHUNK + 100);
        let sealed = seal(&key, &plain);
        let refused = |sealed: &[u8], key: &FileKey| {
            let error = unseal(key, sealed).expect_err("must not open");
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        };
        refused(&sealed, &FileKey::generate());
        let mut changed = sealed.clone();
        changed[HEADER + CHUNK + 5] ^= 1;
        refused(&changed, &key);
        // Cut at a chunk's edge: what is left must not pass as a whole file.
        refused(&sealed[..HEADER + 2 * (CHUNK + TAG)], &key);
        refused(&sealed[..sealed.len() - 1], &key);
        let mut dropped = sealed[..HEADER + CHUNK + TAG].to_vec();
        dropped.extend_from_slice(&sealed[HEADER + 2 * (CHUNK + TAG)..]);
        refused(&dropped, &key);
        refused(b"%PDF-1.7 in the clear", &key);
    }

    #[test]
    fn a_key_reads_back_from_its_hex() {
        let key = FileKey::generate();
        let again = FileKey::from_hex(&key.to_hex()).unwrap();
        let sealed = seal(&key, b"hello");
        assert_eq!(unseal(&again, &sealed).unwrap(), b"hello");
        assert!(FileKey::from_hex("zz").is_none());
        assert!(FileKey::from_hex(&"é".repeat(32)).is_none());
        assert_eq!(format!("{key:?}"), "FileKey(..)");
    }

    #[test]
    fn a_file_in_the_clear_is_read_and_then_sealed_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        let plain = bytes(CHUNK + 3);
        std::fs::write(&path, &plain).unwrap();
        let key = FileKey::generate();
        let mut read = Vec::new();
        open(&key, &path).unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, plain);
        assert!(seal_in_place(&key, &path).unwrap());
        assert!(!seal_in_place(&key, &path).unwrap(), "sealed once");
        assert!(is_sealed(&path).unwrap());
        let mut read = Vec::new();
        open(&key, &path).unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, plain);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
