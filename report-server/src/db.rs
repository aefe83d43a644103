//! Database: connection pool over sqlx's `Any` driver (PostgreSQL or SQLite) and the embedded
//! migration set (`report-server/migrations/`, one set valid on both databases).

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr as _};

use crate::error::ApiError;

/// Which database the pool talks to (for the few places where behaviour differs, e.g. test setup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite (the embedded default).
    Sqlite,
}

impl Backend {
    /// The backend a URL selects.
    pub fn of_url(url: &str) -> Result<Self, ApiError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(ApiError::Config(
                "DATABASE_URL must start with postgres://, postgresql:// or sqlite:".into(),
            ))
        }
    }
}

/// The migration set, embedded in the binary (no files needed at run time).
pub fn migrator() -> Migrator {
    let migrations = vec![
        Migration::new(
            1,
            Cow::Borrowed("initial"),
            MigrationType::Simple,
            include_str!("../migrations/0001_initial.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            2,
            Cow::Borrowed("moderation indexes"),
            MigrationType::Simple,
            include_str!("../migrations/0002_moderation_indexes.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            3,
            Cow::Borrowed("rate counters"),
            MigrationType::Simple,
            include_str!("../migrations/0003_rate_counters.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            4,
            Cow::Borrowed("console sessions"),
            MigrationType::Simple,
            include_str!("../migrations/0004_console_sessions.sql").into_sql_str(),
            false,
        ),
    ];
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// Open a pool for `url` (max `max_connections`) and run the migrations.
pub async fn connect(url: &str, max_connections: u32) -> Result<(AnyPool, Backend), ApiError> {
    install_default_drivers();
    let backend = Backend::of_url(url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    if backend == Backend::Sqlite {
        // WAL lets readers proceed during writes; the setting persists in the database file.
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await?;
    }
    migrator().run(&pool).await?;
    Ok((pool, backend))
}
