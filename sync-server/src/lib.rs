//! The sync server: the one service between the desktop apps and the central
//! PostgreSQL. So far it owns the central schema ([`db::MIGRATOR`]) and the
//! one way to touch user data ([`db::begin_as`]); accounts, the sync protocol
//! and the HTTP API arrive with the sync-server issue.

pub mod db;
