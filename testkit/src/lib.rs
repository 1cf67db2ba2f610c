//! The workspace's one test harness. Integration tests of every crate get
//! their real PostgreSQL from here: [`postgres::TestDatabase::create`] hands
//! each test a fresh database with the migrations applied.
//!
//! Later issues add a spawned sync server and simulated clients beside it.

pub mod committed;
pub mod postgres;

pub use postgres::TestDatabase;
