//! Workspace-level end-to-end tests live in `tests/tests/`; this library is their harness: an
//! in-process report server over real HTTP on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.

pub mod docs;
pub mod harness;
