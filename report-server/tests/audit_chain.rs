//! The tamper-evident audit log: entries are chained per network plus a global chain; editing,
//! deleting or reordering rows directly in the database is detected and the first bad entry named
//! (by `GET /v1/admin/audit/verify` and by `report-server audit-verify` run against the database);
//! a rewrite that recomputes every hash, or a truncation, is caught by an older signed checkpoint;
//! entries from before chaining are backfilled. SQLite, and PostgreSQL with `TEST_DATABASE_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use report_server::Limits;
use report_server::audit_chain::{self, Entry};
use serde_json::{Value, json};

async fn dbs() -> Vec<TestDb> {
    let mut v = vec![TestDb::sqlite()];
    if let Some(db) = TestDb::postgres().await {
        v.push(db);
    }
    v
}

/// A new database of the same kind.
async fn fresh(backend: &str) -> TestDb {
    match backend {
        "sqlite" => TestDb::sqlite(),
        _ => TestDb::postgres().await.unwrap(),
    }
}

/// A harness with 4 entries in chain `network:net1` and 2 in `global`.
async fn setup(db: TestDb) -> Harness {
    let h = harness_with(db, Limits::default()).await;
    for i in 0..4 {
        let r = h
            .t()
            .call(
                Method::PATCH,
                "/v1/admin/networks/net1",
                Some(&h.admin),
                Some(json!({ "display_name": format!("Net {i}") })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = h
        .t()
        .post(
            "/v1/admin/tokens",
            Some(&h.admin),
            json!({ "role": "admin", "subject": "ops" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    h
}

async fn verify(h: &Harness) -> Value {
    let r = h.t().get("/v1/admin/audit/verify", Some(&h.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn chain<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chain"] == name)
        .unwrap_or_else(|| panic!("no chain {name} in {report}"))
}

/// The id of entry `seq` of `chain`.
async fn id_at(h: &Harness, chain: &str, seq: i64) -> String {
    let (id,): (String,) = sqlx::query_as("SELECT id FROM audit_log WHERE chain = $1 AND seq = $2")
        .bind(chain)
        .bind(seq)
        .fetch_one(&h.state.db)
        .await
        .unwrap();
    id
}

async fn exec(h: &Harness, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&h.state.db)
        .await
        .unwrap();
}

/// Run `report-server audit-verify` against the harness's database; (exit ok, stdout JSON).
fn cli_verify(h: &Harness, checkpoints: Option<&std::path::Path>) -> (bool, Value) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_report-server"));
    cmd.env("DATABASE_URL", &h.db.url)
        .env("FRANKING_SERVER_KEY", &*h.state.server_key.to_base64())
        .env("RUST_LOG", "error")
        .arg("audit-verify");
    if let Some(f) = checkpoints {
        cmd.arg("--checkpoints").arg(f);
    }
    let out = cmd.output().unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), v)
}

#[tokio::test]
async fn intact_chains_verify_and_edits_deletes_reorders_are_named() {
    for db in dbs().await {
        tamper(db).await;
    }
}

async fn tamper(db: TestDb) {
    let backend = db.backend;
    // Intact.
    let h = setup(db).await;
    let r = verify(&h).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(chain(&r, "network:net1")["entries"], 4);
    assert_eq!(chain(&r, "global")["entries"], 2);
    let (ok, cli) = cli_verify(&h, None);
    assert!(ok, "{cli}");
    assert_eq!(cli["ok"], true);

    // Edit entry 2 of net1.
    let victim = id_at(&h, "network:net1", 2).await;
    exec(
        &h,
        &format!(
            "UPDATE audit_log SET details = '{{\"display_name\":\"Evil\"}}' WHERE id = '{victim}'"
        ),
    )
    .await;
    let r = verify(&h).await;
    assert_eq!(r["ok"], false);
    let m = &chain(&r, "network:net1")["first_mismatch"];
    assert_eq!(
        (
            m["seq"].as_i64(),
            m["entry_id"].as_str(),
            m["problem"].as_str()
        ),
        (Some(2), Some(victim.as_str()), Some("hash_mismatch")),
        "{r}"
    );
    assert!(
        chain(&r, "global")["first_mismatch"].is_null(),
        "other chains unaffected"
    );
    let (ok, cli) = cli_verify(&h, None);
    assert!(!ok);
    assert_eq!(
        chain(&cli, "network:net1")["first_mismatch"]["entry_id"],
        victim.as_str()
    );
    drop(h);

    // Delete entry 2: entry 3 is named (seq 2 expected).
    let h = setup(fresh(backend).await).await;
    let (e2, e3) = (
        id_at(&h, "network:net1", 2).await,
        id_at(&h, "network:net1", 3).await,
    );
    exec(&h, &format!("DELETE FROM audit_log WHERE id = '{e2}'")).await;
    let m = chain(&verify(&h).await, "network:net1")["first_mismatch"].clone();
    assert_eq!(
        (
            m["seq"].as_i64(),
            m["entry_id"].as_str(),
            m["problem"].as_str()
        ),
        (Some(2), Some(e3.as_str()), Some("seq_gap")),
        "{m}"
    );
    let (ok, cli) = cli_verify(&h, None);
    assert!(!ok);
    assert_eq!(
        chain(&cli, "network:net1")["first_mismatch"]["entry_id"],
        e3.as_str()
    );
    drop(h);

    // Reorder entries 2 and 3 (swap their places): the entry now at seq 2 is named.
    let h = setup(fresh(backend).await).await;
    let (e2, e3) = (
        id_at(&h, "network:net1", 2).await,
        id_at(&h, "network:net1", 3).await,
    );
    exec(
        &h,
        &format!("UPDATE audit_log SET seq = -1 WHERE id = '{e2}'"),
    )
    .await;
    exec(
        &h,
        &format!("UPDATE audit_log SET seq = 2 WHERE id = '{e3}'"),
    )
    .await;
    exec(
        &h,
        &format!("UPDATE audit_log SET seq = 3 WHERE id = '{e2}'"),
    )
    .await;
    let m = chain(&verify(&h).await, "network:net1")["first_mismatch"].clone();
    assert_eq!(
        (m["seq"].as_i64(), m["entry_id"].as_str()),
        (Some(2), Some(e3.as_str())),
        "{m}"
    );
    // Swapping the contents too (ids stay in place) is also caught at seq 2.
    drop(h);
    let h = setup(fresh(backend).await).await;
    let (e2, e3) = (
        id_at(&h, "network:net1", 2).await,
        id_at(&h, "network:net1", 3).await,
    );
    exec(&h, &format!("UPDATE audit_log SET at = (SELECT at FROM audit_log WHERE id = '{e3}') + 1 WHERE id = '{e2}'")).await;
    let m = chain(&verify(&h).await, "network:net1")["first_mismatch"].clone();
    assert_eq!(
        (m["seq"].as_i64(), m["entry_id"].as_str()),
        (Some(2), Some(e2.as_str())),
        "{m}"
    );
    drop(h);

    // Delete the last entry: the head disagrees.
    let h = setup(fresh(backend).await).await;
    let e4 = id_at(&h, "network:net1", 4).await;
    exec(&h, &format!("DELETE FROM audit_log WHERE id = '{e4}'")).await;
    let m = chain(&verify(&h).await, "network:net1")["first_mismatch"].clone();
    assert_eq!(
        (m["seq"].as_i64(), m["problem"].as_str()),
        (Some(4), Some("head_mismatch")),
        "{m}"
    );
    // An entry inserted behind the server's back (no chain) is named too.
    exec(&h, "INSERT INTO audit_log (id, at, actor, action, target, details) VALUES ('aud_forged', 1, 'x', 'y', 'z', '{}')").await;
    let r = verify(&h).await;
    let forged = r["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["first_mismatch"]["problem"] == "unchained_entry")
        .unwrap();
    assert_eq!(forged["first_mismatch"]["entry_id"], "aud_forged");
}

/// Recompute every hash of `chain` from seq 1 (what an attacker with the database can do).
async fn rewrite_chain(h: &Harness, chain: &str) {
    let rows: Vec<Entry> = sqlx::query_as(
        "SELECT id, at, actor, action, target, network_id, details FROM audit_log \
         WHERE chain = $1 ORDER BY seq",
    )
    .bind(chain)
    .fetch_all(&h.state.db)
    .await
    .unwrap();
    let mut prev = audit_chain::GENESIS.to_owned();
    let mut seq = 0;
    for e in rows {
        seq += 1;
        let id = e.id.clone();
        let hash = audit_chain::entry_hash(chain, seq, &prev, &e);
        sqlx::query("UPDATE audit_log SET seq = $2, prev_hash = $3, hash = $4 WHERE id = $1")
            .bind(&id)
            .bind(seq)
            .bind(&prev)
            .bind(&hash)
            .execute(&h.state.db)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_chain_heads SET seq = $2, hash = $3 WHERE chain = $1")
        .bind(chain)
        .bind(seq)
        .bind(&prev)
        .execute(&h.state.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn old_checkpoints_catch_rewrites_and_truncation() {
    for db in dbs().await {
        checkpoints(db).await;
    }
}

async fn checkpoints(db: TestDb) {
    let backend = db.backend;
    let h = setup(db).await;
    let r = h
        .t()
        .get("/v1/admin/audit/checkpoint", Some(&h.admin))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let saved = r.body.clone();
    let net1 = saved["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chain"] == "network:net1")
        .unwrap()
        .clone();
    assert_eq!(net1["seq"], 4);
    // More entries after the checkpoint are fine.
    h.t()
        .call(
            Method::PATCH,
            "/v1/admin/networks/net1",
            Some(&h.admin),
            Some(json!({ "display_name": "later" })),
        )
        .await;
    let body = json!({ "checkpoints": saved["checkpoints"] });
    let r = h
        .t()
        .post("/v1/admin/audit/verify", Some(&h.admin), body.clone())
        .await;
    assert_eq!(
        (r.status, &r.body["ok"]),
        (StatusCode::OK, &json!(true)),
        "{}",
        r.body
    );

    // Rewrite entry 2 and recompute the whole chain: the chain alone verifies, the checkpoint not.
    let e2 = id_at(&h, "network:net1", 2).await;
    exec(
        &h,
        &format!("UPDATE audit_log SET details = '{{}}' WHERE id = '{e2}'"),
    )
    .await;
    rewrite_chain(&h, "network:net1").await;
    assert_eq!(
        verify(&h).await["ok"],
        true,
        "an undetectable rewrite without a checkpoint"
    );
    let r = h
        .t()
        .post("/v1/admin/audit/verify", Some(&h.admin), body.clone())
        .await;
    let m = &chain(&r.body, "network:net1")["first_mismatch"];
    assert_eq!(
        (m["seq"].as_i64(), m["problem"].as_str()),
        (Some(4), Some("checkpoint_mismatch")),
        "{}",
        r.body
    );
    // The same with the CLI and the saved file.
    let file = std::env::temp_dir().join(format!("checkpoints-{}.json", now_ms()));
    std::fs::write(&file, saved.to_string()).unwrap();
    let (ok, cli) = cli_verify(&h, Some(&file));
    assert!(!ok);
    assert_eq!(
        chain(&cli, "network:net1")["first_mismatch"]["problem"],
        "checkpoint_mismatch"
    );
    drop(h);

    // Truncate to 2 entries and fix up the head: the checkpoint's entry is missing.
    let h = setup(fresh(backend).await).await;
    let saved = h
        .t()
        .get("/v1/admin/audit/checkpoint", Some(&h.admin))
        .await
        .body;
    exec(
        &h,
        "DELETE FROM audit_log WHERE chain = 'network:net1' AND seq > 2",
    )
    .await;
    rewrite_chain(&h, "network:net1").await;
    assert_eq!(verify(&h).await["ok"], true);
    let r = h
        .t()
        .post(
            "/v1/admin/audit/verify",
            Some(&h.admin),
            json!({ "checkpoints": saved["checkpoints"] }),
        )
        .await;
    let m = &chain(&r.body, "network:net1")["first_mismatch"];
    assert_eq!(
        (m["seq"].as_i64(), m["problem"].as_str()),
        (Some(4), Some("checkpoint_missing")),
        "{}",
        r.body
    );

    // A checkpoint not signed by this server is refused.
    let mut forged = saved["checkpoints"][0].clone();
    forged["seq"] = json!(1);
    let r = h
        .t()
        .post(
            "/v1/admin/audit/verify",
            Some(&h.admin),
            json!({ "checkpoints": [forged] }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_checkpoint")
    );
    let r = h
        .t()
        .post(
            "/v1/admin/audit/verify",
            Some(&h.net1.moderator),
            json!({ "checkpoints": [] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn entries_from_before_the_chain_are_backfilled() {
    for db in dbs().await {
        let h = setup(db).await;
        // Rows as migration 11 leaves them: no chain columns, in two chains.
        for (i, net) in [(1, Some("net2")), (2, None), (3, Some("net2"))] {
            sqlx::query("INSERT INTO audit_log (id, at, actor, action, target, network_id, details) VALUES ($1, $2, 'admin:old', 'old.action', 'x', $3, '{}')")
                .bind(format!("aud_old{i}"))
                .bind(i64::from(i))
                .bind(net)
                .execute(&h.state.db)
                .await
                .unwrap();
        }
        assert_eq!(
            verify(&h).await["ok"],
            false,
            "unchained entries are reported"
        );
        assert_eq!(audit_chain::backfill(&h.state.db).await.unwrap(), 3);
        assert_eq!(
            audit_chain::backfill(&h.state.db).await.unwrap(),
            0,
            "idempotent"
        );
        let r = verify(&h).await;
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(chain(&r, "network:net2")["entries"], 2);
        assert_eq!(chain(&r, "global")["entries"], 3);
    }
}
