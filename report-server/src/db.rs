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
            10,
            Cow::Borrowed("webhooks"),
            MigrationType::Simple,
            include_str!("../migrations/0010_webhooks.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            11,
            Cow::Borrowed("audit chain"),
            MigrationType::Simple,
            include_str!("../migrations/0011_audit_chain.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            12,
            Cow::Borrowed("statements of reasons"),
            MigrationType::Simple,
            include_str!("../migrations/0012_transparency.sql").into_sql_str(),
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
    // Link audit entries written before the audit chain existed (migration 11).
    crate::audit_chain::backfill(&pool).await?;
    Ok((pool, backend))
}

/// Store a Rust enum as its TEXT name through sqlx `Any`: implements `Type`, `Encode` and `Decode`
/// from the enum's `as_str(self) -> &'static str` and `parse(&str) -> Option<Self>`, so rows derive
/// [`sqlx::FromRow`] with enum fields and queries bind enum values directly. A stored name the enum
/// does not know fails the row decode (a server fault, never client input).
macro_rules! text_enum {
    ($($ty:ty),+ $(,)?) => {$(
        impl sqlx::Type<sqlx::Any> for $ty {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <str as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Any>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $ty {
            fn decode(
                value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                <$ty>::parse(s).ok_or_else(|| {
                    format!("stored {} {s:?} is unknown", stringify!($ty)).into()
                })
            }
        }
    )+};
}
pub(crate) use text_enum;
