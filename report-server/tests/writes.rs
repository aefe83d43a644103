//! `report_server::writes::Writes` (several writes in one PostgreSQL statement, one after another
//! on SQLite) and the intake transaction's planner settings (`db::begin_multi_row_write`), on
//! SQLite and, when `TEST_DATABASE_URL` is set, PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use report_server::ApiError;
use report_server::db;
use report_server::writes::Writes;
use sqlx::AnyPool;

async fn scratch(pool: &AnyPool) {
    for sql in [
        "CREATE TABLE w_parent (id TEXT PRIMARY KEY, label TEXT NOT NULL)",
        "CREATE TABLE w_child (id TEXT PRIMARY KEY, parent TEXT NOT NULL REFERENCES w_parent(id), \
         n BIGINT NOT NULL)",
        "CREATE TABLE w_counter (id TEXT PRIMARY KEY, n BIGINT NOT NULL)",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    sqlx::query("INSERT INTO w_counter (id, n) VALUES ('c', 1), ('d', 7)")
        .execute(pool)
        .await
        .unwrap();
}

async fn rows(pool: &AnyPool, sql: &str) -> Vec<(String, i64)> {
    sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Three writes — a parent, a child that refers to it (the foreign key is checked after both),
/// and an upsert — with a literal holding `$1`, and a read in the same round trip.
#[tokio::test]
async fn writes_and_a_read_run_together() {
    for h in harnesses().await {
        let pool = &h.state.db;
        scratch(pool).await;
        let mut tx = db::begin_multi_row_write(pool).await.unwrap();
        let mut w = Writes::new(&tx);
        w.push("INSERT INTO w_parent (id, label) VALUES ($1, '$1 stays' || $2)")
            .bind("p")
            .bind("!");
        w.push("INSERT INTO w_child (id, parent, n) VALUES ($1, $2, $3), ($4, $2, $5)")
            .bind("k1")
            .bind("p")
            .bind(5_i64)
            .bind("k2")
            .bind(6_i64);
        w.push(
            "INSERT INTO w_counter (id, n) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET n = w_counter.n + excluded.n",
        )
        .bind("c")
        .bind(10_i64);
        let read: Vec<(String, i64)> = w
            .run_then_read(&mut tx, "SELECT id, n FROM w_counter WHERE id = $1", |b| {
                b.bind("d");
            })
            .await
            .unwrap();
        assert_eq!(read, vec![("d".to_owned(), 7)], "{}", h.db.backend);
        tx.commit().await.unwrap();
        assert_eq!(
            rows(pool, "SELECT label, 0 FROM w_parent").await,
            vec![("$1 stays!".to_owned(), 0)],
            "{}: a placeholder inside a literal is not renumbered",
            h.db.backend
        );
        assert_eq!(
            rows(pool, "SELECT id, n FROM w_child ORDER BY id").await,
            vec![("k1".to_owned(), 5), ("k2".to_owned(), 6)]
        );
        assert_eq!(
            rows(pool, "SELECT id, n FROM w_counter ORDER BY id").await,
            vec![("c".to_owned(), 11), ("d".to_owned(), 7)]
        );
    }
}

/// A failing write fails the whole set, and the transaction writes nothing.
#[tokio::test]
async fn a_failing_write_fails_them_all() {
    for h in harnesses().await {
        let pool = &h.state.db;
        scratch(pool).await;
        let mut tx = db::begin_multi_row_write(pool).await.unwrap();
        let mut w = Writes::new(&tx);
        w.push("INSERT INTO w_parent (id, label) VALUES ($1, $2)")
            .bind("q")
            .bind("x");
        // A child of a parent that does not exist.
        w.push("INSERT INTO w_child (id, parent, n) VALUES ($1, $2, $3)")
            .bind("k")
            .bind("nobody")
            .bind(1_i64);
        let err = w.run(&mut tx).await;
        assert!(err.is_err(), "{}: the foreign key must fail", h.db.backend);
        drop(tx);
        assert!(rows(pool, "SELECT id, 0 FROM w_parent").await.is_empty());
    }
}

/// A statement bound with fewer or more values than its placeholders is refused before anything
/// is sent.
#[tokio::test]
async fn values_must_match_placeholders() {
    for h in harnesses().await {
        let pool = &h.state.db;
        scratch(pool).await;
        for extra in [false, true] {
            let mut tx = db::begin_multi_row_write(pool).await.unwrap();
            let mut w = Writes::new(&tx);
            let mut b = w.push("INSERT INTO w_parent (id, label) VALUES ($1, $2)");
            b.bind("r");
            if extra {
                b.bind("x").bind("y");
            }
            w.push("INSERT INTO w_counter (id, n) VALUES ($1, $2)")
                .bind("e")
                .bind(1_i64);
            match w.run(&mut tx).await {
                Err(ApiError::Internal(m)) => assert!(m.contains("placeholders"), "{m}"),
                other => panic!("{}: {other:?}", h.db.backend),
            }
            tx.commit().await.unwrap();
            assert!(rows(pool, "SELECT id, 0 FROM w_parent").await.is_empty());
            assert_eq!(rows(pool, "SELECT id, n FROM w_counter").await.len(), 2);
        }
    }
}

/// The intake transaction plans its statements once per connection (`force_generic_plan`). A
/// plan made while a table is small and was analyzed empty (a new database) used to be a
/// sequential scan, kept for the connection's life; `begin_multi_row_write` rules that out. The
/// control shows the scan this guards against.
#[tokio::test]
async fn intake_plans_use_the_keys_indexes_on_a_new_database() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let h = harness_with(db, Default::default()).await;
    let pool = &h.state.db;
    sqlx::query("ANALYZE rate_counters")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO rate_counters (scope, bucket, shard, n, expires_at) \
         SELECT 'scope-' || g, 100, 0, 1, 200 FROM generate_series(1, 200) g",
    )
    .execute(pool)
    .await
    .unwrap();
    const LOAD: &str = "SELECT scope, bucket, CAST(SUM(n) AS BIGINT) FROM rate_counters \
        WHERE bucket > $1 AND scope IN ($2, $3, $4, $5) GROUP BY scope, bucket";
    let plan = |mut tx: sqlx::Transaction<'static, sqlx::Any>, name: &'static str| async move {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PREPARE {name} (BIGINT, TEXT, TEXT, TEXT, TEXT) AS {LOAD}"
        )))
        .execute(&mut *tx)
        .await
        .unwrap();
        let lines: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "EXPLAIN EXECUTE {name} (0, 'a', 'b', 'c', 'd')"
        )))
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        lines
            .into_iter()
            .map(|(l,)| l)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut control = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL plan_cache_mode = force_generic_plan")
        .execute(&mut *control)
        .await
        .unwrap();
    let control = plan(control, "control").await;
    assert!(
        control.contains("Seq Scan on rate_counters"),
        "the control should scan:\n{control}"
    );
    let intake = plan(db::begin_multi_row_write(pool).await.unwrap(), "intake").await;
    assert!(
        !intake.contains("Seq Scan") && intake.contains("rate_counters_pkey"),
        "intake must use the index:\n{intake}"
    );
}
