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
        Migration::new(
            16,
            Cow::Borrowed("retirement time"),
            MigrationType::Simple,
            include_str!("../migrations/0016_retirement_time.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            20,
            Cow::Borrowed("attachments"),
            MigrationType::Simple,
            include_str!("../migrations/0020_attachments.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            25,
            Cow::Borrowed("server key rotation"),
            MigrationType::Simple,
            include_str!("../migrations/0025_server_key_rotation.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            30,
            Cow::Borrowed("group by message"),
            MigrationType::Simple,
            include_str!("../migrations/0030_group_by_message.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            40,
            Cow::Borrowed("federation"),
            MigrationType::Simple,
            include_str!("../migrations/0040_federation.sql").into_sql_str(),
            false,
        ),
    ];
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// The file of a `sqlite:` URL (`sqlite:PATH?...`, `sqlite://PATH?...`); `None` for in-memory
/// databases.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.starts_with(":memory:") && !rest.contains("mode=memory"))
        .then(|| std::path::PathBuf::from(path))
}

/// Create a SQLite database file with mode 0600 before SQLite opens it (SQLite then creates its
/// `-wal` and `-shm` files with the same mode); warn about an existing file other users may read.
/// Unix only.
fn prepare_sqlite_file(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if let Ok(meta) = std::fs::metadata(path)
                    && meta.permissions().mode() & 0o077 != 0
                {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format!("{:04o}", meta.permissions().mode() & 0o777),
                        "the SQLite database file is readable by other users; chmod 600 it"
                    );
                }
            }
            // A missing directory and the like: SQLite reports it with its own error.
            Err(_) => {}
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Begin a transaction that will write: `BEGIN IMMEDIATE` on SQLite, `BEGIN` on PostgreSQL.
///
/// SQLite's deferred `BEGIN` takes the write lock only at the first write; if the transaction read
/// something first and another connection committed in between, that write fails at once with
/// `SQLITE_BUSY` (its snapshot is stale), which no waiting can cure. Taking the lock at the start
/// makes every writer wait its turn (up to the busy timeout) instead.
pub async fn begin_write(
    db: &AnyPool,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    begin_with(db, "BEGIN").await
}

/// `BEGIN IMMEDIATE` on SQLite, `postgres` (a `BEGIN` and settings for the transaction) on
/// PostgreSQL.
async fn begin_with(
    db: &AnyPool,
    postgres: &'static str,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    if db.connect_options().database_url.scheme() == "sqlite" {
        db.begin_with("BEGIN IMMEDIATE").await
    } else {
        db.begin_with(postgres).await
    }
}

/// Most rows one multi-row statement ([`padded_chunks`]) carries (an intake batch's reports).
pub const MAX_ROWS_PER_STATEMENT: usize = 64;

/// Chunks of more rows than this are padded to a multiple of it ([`padded_chunks`]).
pub const PAD_TO: usize = 4;

/// Prepared statements each PostgreSQL connection keeps (sqlx's `statement-cache-capacity`,
/// unless the URL sets it).
pub const POSTGRES_STATEMENT_CACHE: usize = 1024;

/// `rows` for multi-row statements: chunks of at most [`MAX_ROWS_PER_STATEMENT`] rows, each
/// padded to a multiple of [`PAD_TO`] rows (see [`Padded`]), so that a statement over any number
/// of rows takes one of 19 shapes: each prepared once per connection and planned generically
/// after a few runs, where one shape per row count would be prepared and planned again and again
/// (and powers of two would carry up to twice the rows).
pub fn padded_chunks<T>(rows: &[T]) -> impl Iterator<Item = Padded<'_, T>> {
    rows.chunks(MAX_ROWS_PER_STATEMENT)
        .map(|rows| Padded { rows })
}

/// One chunk of a multi-row statement, padded to [`Padded::len`] rows with copies of its last row
/// marked `keep = 0`. Statements read the rows from [`Padded::with_rows`] (`… FROM v WHERE keep =
/// 1`), or use [`Padded::in_list`] where a repeated value changes nothing.
#[derive(Debug, Clone, Copy)]
pub struct Padded<'r, T> {
    rows: &'r [T],
}

impl<'r, T> Padded<'r, T> {
    /// The padded length: the row count up to [`PAD_TO`], else the next multiple of it.
    pub fn len(&self) -> usize {
        let n = self.rows.len();
        if n <= PAD_TO {
            n
        } else {
            n.next_multiple_of(PAD_TO)
        }
    }

    /// Whether the chunk holds no row (never: chunks are not empty).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows with their `keep` flag: each row with 1, then the last row again with 0 up to
    /// [`Self::len`].
    pub fn slots(&self) -> impl Iterator<Item = (&'r T, i64)> + 'r {
        let last = self.rows.last();
        let pad = self.len() - self.rows.len();
        self.rows.iter().map(|r| (r, 1)).chain(
            last.into_iter()
                .flat_map(move |r| std::iter::repeat_n((r, 0), pad)),
        )
    }

    /// `WITH v (<columns>, keep) AS (VALUES …)` for the padded rows, placeholders numbered from
    /// `$first` row by row (each row's columns, then its `keep`).
    pub fn with_rows(&self, columns: &str, first: usize) -> String {
        let n = columns.split(',').count() + 1;
        format!(
            "WITH v ({columns}, keep) AS (VALUES {})",
            values_list(first, n, self.len())
        )
    }

    /// `$first, …` for an `IN` list of the padded rows (one value each).
    pub fn in_list(&self, first: usize) -> String {
        placeholders(first, self.len())
    }
}

/// `url` with sqlx's `statement-cache-capacity` set to [`POSTGRES_STATEMENT_CACHE`] for
/// PostgreSQL, unless it sets one.
fn with_statement_cache(url: &str) -> String {
    if !matches!(Backend::of_url(url), Ok(Backend::Postgres))
        || url.contains("statement-cache-capacity=")
    {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}statement-cache-capacity={POSTGRES_STATEMENT_CACHE}")
}

/// `n` placeholders numbered from `$first`, comma-separated: `$3, $4, $5` (an `IN` list).
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `VALUES` list of a multi-row statement: `rows` tuples of `columns` placeholders numbered
/// from `$first`, e.g. `($1, $2), ($3, $4)`.
pub fn values_list(first: usize, columns: usize, rows: usize) -> String {
    let mut s = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(first + r * columns + c).to_string());
        }
        s.push(')');
    }
    s
}

/// Whether `conn` is a PostgreSQL connection (for the few statements whose text differs, such as
/// row locks: SQLite's `BEGIN IMMEDIATE` already excludes every other writer).
pub fn is_postgres(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name() == "PostgreSQL"
}

/// Begin a write transaction ([`begin_write`]) whose statements are multi-row statements of a
/// few fixed shapes ([`padded_chunks`]) that find their rows by key. On PostgreSQL, with the
/// `BEGIN` in one round trip:
/// - `SET LOCAL plan_cache_mode = force_generic_plan`: each shape is planned once per connection,
///   where PostgreSQL would otherwise plan each of the first five runs of every shape on every
///   connection for its hundreds of parameters;
/// - `SET LOCAL enable_seqscan = off`: that one plan must use the keys' indexes even when it is
///   made while a table is nearly empty (a new database, before autovacuum's first `ANALYZE`).
///   A sequential scan planned then stays in the connection's cache; on `rate_counters` it made
///   each intake transaction scan every counter, milliseconds once there were thousands.
pub async fn begin_multi_row_write(
    db: &AnyPool,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    begin_with(
        db,
        "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off",
    )
    .await
}

/// A pooled connection idle this long is pinged before it is handed out (a fresher one was
/// pinged when it was returned).
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// How the pool waits for the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections in the pool.
    pub max_connections: u32,
    /// Longest wait for a connection, including reconnecting to a database that is down; past it
    /// the request fails with 503 `unavailable`.
    pub acquire_timeout: Duration,
    /// PostgreSQL `statement_timeout` of the pool's connections: a statement running longer (e.g.
    /// waiting for a lock) is cancelled and the request fails with 503 `unavailable`. `None`: the
    /// database's default. Migrations run on a separate connection without it.
    pub statement_timeout: Option<Duration>,
}

impl PoolSettings {
    /// Settings for a server whose requests time out after `request_timeout`: waiting for a
    /// connection and any single statement are bounded by half of it (at most 10 s for a
    /// connection), so a database that is down or stuck answers 503 `unavailable` within the
    /// request timeout instead of holding requests until their 408.
    pub fn for_request_timeout(max_connections: u32, request_timeout: Duration) -> Self {
        let half = (request_timeout / 2).max(Duration::from_millis(500));
        Self {
            max_connections,
            acquire_timeout: half.min(Duration::from_secs(10)),
            statement_timeout: Some(half),
        }
    }
}

/// Open a pool for `url` (max `max_connections`, 10 s acquire timeout, no statement timeout)
/// and run the migrations. A new SQLite file is created with mode 0600.
pub async fn connect(url: &str, max_connections: u32) -> Result<(AnyPool, Backend), ApiError> {
    connect_with(
        url,
        PoolSettings {
            max_connections,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: None,
        },
    )
    .await
}

/// The pool options of [`connect_with`] for `settings` on `backend`.
fn pool_options(settings: PoolSettings, backend: Backend) -> AnyPoolOptions {
    let mut options = AnyPoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .acquire_timeout(settings.acquire_timeout)
        // sqlx pings every connection when it goes back to the pool (and drops it if that fails);
        // pinging it again on the way out cost a round trip per request on the hot paths. Only a
        // connection idle for a while (its server may have gone away since) is pinged first.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IDLE_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        });
    if let Some(t) = settings
        .statement_timeout
        .filter(|_| backend == Backend::Postgres)
    {
        let ms = t.as_millis().max(1);
        options = options.after_connect(move |conn, _| {
            Box::pin(async move {
                sqlx::query(sqlx::AssertSqlSafe(format!("SET statement_timeout = {ms}")))
                    .execute(conn)
                    .await?;
                Ok(())
            })
        });
    }
    options
}

/// A second pool to `pool`'s database (already migrated) with `settings`, connecting on demand
/// from the runtime that first needs a connection (the intake writer's own,
/// [`crate::intake::queue`]); its housekeeping runs on the current runtime.
pub fn lazy_pool_like(pool: &AnyPool, backend: Backend, settings: PoolSettings) -> AnyPool {
    pool_options(settings, backend).connect_lazy_with((*pool.connect_options()).clone())
}

/// Open a pool for `url` with `settings` and run the migrations (with a statement timeout on their
/// own connection without it, so a long migration, or one waiting for another instance's migration
/// lock, is not cut short).
pub async fn connect_with(
    url: &str,
    settings: PoolSettings,
) -> Result<(AnyPool, Backend), ApiError> {
    install_default_drivers();
    let backend = Backend::of_url(url)?;
    if let Some(path) = sqlite_file(url) {
        prepare_sqlite_file(&path);
    }
    let statement_timeout = settings
        .statement_timeout
        .filter(|_| backend == Backend::Postgres);
    let options = pool_options(settings, backend);
    let pool = options
        .connect(&with_statement_cache(url))
        .await
        .map_err(|e| connect_error(url, e))?;
    if backend == Backend::Sqlite {
        // WAL lets readers proceed during writes; the setting persists in the database file.
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await?;
    }
    if statement_timeout.is_some() {
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url).await?;
        let migrated = migrator().run(&mut conn).await;
        let _ = sqlx::Connection::close(conn).await;
        migrated?;
    } else {
        migrator().run(&pool).await?;
    }
    // Link audit entries written before the audit chain existed (migration 11).
    crate::audit_chain::backfill(&pool).await?;
    Ok((pool, backend))
}

/// The start-up error for a database that cannot be opened: a PostgreSQL database that does not
/// exist (SQLSTATE 3D000) says how to create it; anything else names the (password-redacted) URL.
fn connect_error(url: &str, e: sqlx::Error) -> ApiError {
    let shown = crate::config::redact_url(url);
    let missing = e
        .as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "3D000");
    match postgres_parts(url) {
        Some((user, host, port, name)) if missing => ApiError::Config(format!(
            "database {name:?} does not exist on {host}:{port}; create it with: \
             createdb -h {host} -p {port} -U {user} {name}"
        )),
        _ => ApiError::Config(format!("cannot open the database {shown}: {e}")),
    }
}

/// (user, host, port, database) of a `postgres://user[:password]@host[:port]/database[?...]` URL.
fn postgres_parts(url: &str) -> Option<(String, String, String, String)> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let (authority, path) = rest.split_once('/')?;
    let name = path.split('?').next().filter(|n| !n.is_empty())?;
    let (creds, hostport) = authority
        .rsplit_once('@')
        .unwrap_or(("postgres", authority));
    let user = creds.split(':').next().unwrap_or("postgres");
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "5432"));
    Some((user.into(), host.into(), port.into(), name.into()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_file_of_urls() {
        let f = |u| sqlite_file(u).map(|p| p.display().to_string());
        assert_eq!(
            f("sqlite:/d/franking.db?mode=rwc").as_deref(),
            Some("/d/franking.db")
        );
        assert_eq!(f("sqlite://rel.db").as_deref(), Some("rel.db"));
        assert_eq!(f("sqlite::memory:"), None);
        assert_eq!(f("sqlite:x?mode=memory"), None);
        assert_eq!(f("postgres://h/db"), None);
    }

    #[test]
    fn postgres_url_parts_for_the_createdb_advice() {
        let p = |u| postgres_parts(u).map(|(a, b, c, d)| format!("{a} {b} {c} {d}"));
        assert_eq!(
            p("postgres://franking:pw@db.internal:5433/fr?sslmode=require").as_deref(),
            Some("franking db.internal 5433 fr")
        );
        assert_eq!(p("postgres://h/db").as_deref(), Some("postgres h 5432 db"));
        assert_eq!(p("postgres://h/"), None);
        assert_eq!(p("sqlite:x.db"), None);
    }

    #[test]
    fn padded_chunks_keep_rows_in_order_and_pad_to_few_shapes() {
        for n in [0usize, 1, 2, 3, 5, 17, 63, 64, 65, 200] {
            let rows: Vec<usize> = (0..n).collect();
            let mut kept = Vec::new();
            for chunk in padded_chunks(&rows) {
                assert!(chunk.len() <= MAX_ROWS_PER_STATEMENT);
                assert!(chunk.len() <= PAD_TO || chunk.len() % PAD_TO == 0);
                assert!(chunk.len() - chunk.slots().filter(|s| s.1 == 1).count() < PAD_TO);
                let slots: Vec<(&usize, i64)> = chunk.slots().collect();
                assert_eq!(slots.len(), chunk.len());
                let real = slots.iter().take_while(|(_, keep)| *keep == 1).count();
                let last = slots.get(real - 1).map(|s| s.0);
                let padding_repeats_last = slots[real..]
                    .iter()
                    .all(|(r, keep)| *keep == 0 && Some(*r) == last);
                assert!(padding_repeats_last);
                kept.extend(slots[..real].iter().map(|(r, _)| **r));
            }
            assert_eq!(kept, rows, "every row once, in order");
        }
        let shapes: std::collections::BTreeSet<usize> = (1..=MAX_ROWS_PER_STATEMENT)
            .map(|n| padded_chunks(&vec![0; n]).next().unwrap().len())
            .collect();
        assert_eq!(shapes.len(), 19, "{shapes:?}");
        let rows = [1, 2, 3, 4, 5];
        let chunk = padded_chunks(&rows).next().unwrap();
        assert_eq!(chunk.len(), 8);
        assert_eq!(
            padded_chunks(&rows[..2])
                .next()
                .unwrap()
                .with_rows("a, b", 2),
            "WITH v (a, b, keep) AS (VALUES ($2, $3, $4), ($5, $6, $7))"
        );
        assert_eq!(chunk.in_list(1), "$1, $2, $3, $4, $5, $6, $7, $8");
    }

    #[test]
    fn postgres_urls_get_a_statement_cache() {
        assert_eq!(
            with_statement_cache("postgres://h/db"),
            "postgres://h/db?statement-cache-capacity=1024"
        );
        assert_eq!(
            with_statement_cache("postgres://h/db?sslmode=require"),
            "postgres://h/db?sslmode=require&statement-cache-capacity=1024"
        );
        let set = "postgres://h/db?statement-cache-capacity=7";
        assert_eq!(with_statement_cache(set), set);
        assert_eq!(with_statement_cache("sqlite:x.db"), "sqlite:x.db");
    }

    #[test]
    fn values_lists_number_placeholders_row_by_row() {
        assert_eq!(values_list(1, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(values_list(3, 1, 3), "($3), ($4), ($5)");
        assert_eq!(values_list(1, 3, 1), "($1, $2, $3)");
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
    }
}
