//! The sync protocol spoken between the desktop app and the sync server.
//! Both sides use these definitions; neither redefines them.
//!
//! The version is negotiated on every request: a client speaking an older
//! version than the server supports is told to upgrade (and keeps its
//! outbox); nothing is ever wiped because of a version mismatch.

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The oldest client protocol version the server still accepts.
pub const MIN_SUPPORTED_PROTOCOL_VERSION: u32 = 1;
