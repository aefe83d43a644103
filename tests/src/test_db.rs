//! A throw-away test database: a SQLite file in a fresh temporary directory, or a fresh PostgreSQL
//! database created on the `TEST_DATABASE_URL` server and dropped again when the value is dropped.
//!
//! One copy shared by report-server's tests (`report-server/tests/common/mod.rs`) and the
//! workspace end-to-end harness (`harness.rs`), both of which include this file with `#[path]`.
//! Locally without `TEST_DATABASE_URL`, [`TestDb::postgres`] prints a line and returns `None`;
//! under `CI=true` it panics, because CI must run the PostgreSQL tests, not skip them.
#![allow(clippy::expect_used, dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique to this process and call (for temp dirs and databases).
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{n}_{nanos:08x}", std::process::id())
}

/// A test database that removes itself on drop.
pub struct TestDb {
    /// `sqlite:...` or `postgres://...` URL of the database.
    pub url: String,
    /// `sqlite` or `postgres`, for messages.
    pub backend: &'static str,
    dir: Option<PathBuf>,
    pg: Option<(String, String)>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.backend)
    }
}

impl TestDb {
    /// A SQLite database file in a fresh temporary directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique("franking-e2e"));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let url = format!("sqlite:{}?mode=rwc", dir.join("test.db").display());
        Self {
            url,
            backend: "sqlite",
            dir: Some(dir),
            pg: None,
        }
    }

    /// A fresh database on the `TEST_DATABASE_URL` PostgreSQL server, or `None` (after printing a
    /// line) when the variable is unset. Under `CI=true` a missing variable panics: CI must run
    /// the PostgreSQL tests, not skip them.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but TEST_DATABASE_URL is not set: the PostgreSQL end-to-end tests must run in CI"
            );
            eprintln!("skipping the PostgreSQL run: TEST_DATABASE_URL is not set");
            return None;
        };
        let name = unique("franking_e2e").to_lowercase();
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        let _ = sqlx::Connection::close(conn).await;
        Some(Self {
            url: replace_db_name(&admin_url, &name),
            backend: "postgres",
            dir: None,
            pg: Some((admin_url, name)),
        })
    }
}

/// `url` with its database name replaced by `name` (query string kept).
fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| i + scheme_end);
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin, name)) = self.pg.take() {
            // Own thread and runtime: Drop may run inside (or outside) any runtime.
            let _ = std::thread::spawn(move || {
                block_on(async move {
                    if let Ok(mut c) =
                        <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await
                    {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}
