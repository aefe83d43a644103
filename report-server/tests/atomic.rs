//! Every change is committed together with its audit entry, or not at all. A database trigger
//! (created by the test; no production hook) makes every `audit_log` INSERT fail, so the failure
//! happens after the change's own statements ran and before its transaction commits. Each audited
//! endpoint must then answer 500 and leave every table exactly as it was; without the trigger the
//! same request succeeds and writes its change and its audit entry. Runs on SQLite, and on
//! PostgreSQL when `TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use report_server::Limits;
use report_server::db::Backend;
use serde_json::{Value, json};
use sqlx::Row as _;

const TABLES: [&str; 10] = [
    "networks",
    "network_policies",
    "stamping_keys",
    "tokens",
    "cases",
    "case_reporters",
    "reports",
    "evidence",
    "notes",
    "audit_log",
];

/// Every row of every table the audited changes touch, as sorted text.
async fn dump(h: &Harness) -> Vec<String> {
    let mut out = Vec::new();
    for t in TABLES {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {t}")))
            .fetch_all(&h.state.db)
            .await
            .unwrap();
        let mut lines: Vec<String> = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| match r.try_get::<Option<i64>, _>(i) {
                        Ok(v) => format!("{v:?}"),
                        Err(_) => format!("{:?}", r.try_get::<Option<String>, _>(i).unwrap()),
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        lines.sort();
        out.push(format!("{t}:\n{}", lines.join("\n")));
    }
    out
}

async fn audit_count(h: &Harness) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) AS n FROM audit_log")
        .fetch_one(&h.state.db)
        .await
        .unwrap();
    n
}

/// Make every audit INSERT fail (`on`) or work again.
async fn break_audit(h: &Harness, on: bool) {
    let sql = match (h.state.backend, on) {
        (Backend::Sqlite, true) => {
            "CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END"
        }
        (Backend::Sqlite, false) => "DROP TRIGGER audit_fails",
        (Backend::Postgres, true) => {
            "CREATE OR REPLACE FUNCTION audit_fails() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected audit failure'; END $$; \
             CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log \
             FOR EACH ROW EXECUTE FUNCTION audit_fails()"
        }
        (Backend::Postgres, false) => "DROP TRIGGER audit_fails ON audit_log",
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&h.state.db)
        .await
        .unwrap();
}

/// `method path body` as `token`: with the audit insert failing it is a 500 that changes nothing;
/// then, working, it answers `ok` and writes its change plus `audits` audit entries.
async fn atomic(
    h: &Harness,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    ok: StatusCode,
    audits: i64,
) -> Value {
    let t = h.t();
    let before = dump(h).await;
    break_audit(h, true).await;
    let r = t
        .call(method.clone(), path, Some(token), body.clone())
        .await;
    assert_eq!(
        r.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{path}: {}",
        r.body
    );
    assert_eq!(r.code(), "internal");
    assert_eq!(
        dump(h).await,
        before,
        "{method} {path} committed without its audit entry"
    );
    break_audit(h, false).await;
    let n = audit_count(h).await;
    let r = t.call(method.clone(), path, Some(token), body).await;
    assert_eq!(r.status, ok, "{path}: {}", r.body);
    assert_eq!(audit_count(h).await, n + audits, "{method} {path}");
    let after = dump(h).await;
    let changed = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a && !a.starts_with("audit_log"))
        .count();
    assert!(changed > 0, "{method} {path} changed nothing");
    r.body
}

async fn scenario(h: &Harness) {
    let t = h.t();
    let admin = h.admin.as_str();
    // A real case on net1, reported by bob (report intake is audited: checked below with carol's
    // report of the same message).
    let ctx = room("net1", &["bob", "carol"], "m1");
    let m = franked(&t, &h.net1.relay, ctx, b"hi").await;
    let r = t
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            submission("bob", report_json(m.clone(), "bob", vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case_id = r.body["case_id"].as_str().unwrap().to_owned();
    let case = |verb: &str| format!("/v1/cases/{case_id}/{verb}");

    // Viewing decrypted evidence is audited: without its audit entry, no content is returned.
    let view = format!("/v1/cases/{case_id}");
    let before = dump(h).await;
    break_audit(h, true).await;
    let r = t.get(&view, Some(&h.net1.moderator)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal")
    );
    assert!(!r.body.to_string().contains("plaintext"), "{}", r.body);
    assert_eq!(dump(h).await, before);
    break_audit(h, false).await;
    let n = audit_count(h).await;
    let r = t.get(&view, Some(&h.net1.moderator)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(audit_count(h).await, n + 1);

    // Admin changes.
    let created = json!({ "id": "net3" });
    atomic(
        h,
        admin,
        Method::POST,
        "/v1/admin/networks",
        Some(created),
        StatusCode::CREATED,
        1,
    )
    .await;
    let patch = json!({ "display_name": "Network 1", "disabled": false });
    let path = "/v1/admin/networks/net1";
    atomic(
        h,
        admin,
        Method::PATCH,
        path,
        Some(patch),
        StatusCode::OK,
        1,
    )
    .await;
    let mut policy = serde_json::to_value(report_server::keys::Policy::default()).unwrap();
    policy["evidence_retention_ms"] = json!(0);
    let path = "/v1/admin/networks/net1/policy";
    atomic(h, admin, Method::PUT, path, Some(policy), StatusCode::OK, 1).await;
    // Report intake (carol's evidence gets the new zero retention; bob's keeps 90 days).
    let body = Some(submission("carol", report_json(m, "carol", vec![])));
    let service = h.net1.service.as_str();
    atomic(
        h,
        service,
        Method::POST,
        "/v1/reports",
        body,
        StatusCode::CREATED,
        1,
    )
    .await;
    let path = "/v1/admin/networks/net1/keys/rotate";
    atomic(h, admin, Method::POST, path, None, StatusCode::CREATED, 1).await;
    let path = "/v1/admin/networks/net1/keys/1/retire";
    let body = Some(json!({ "immediate": true }));
    atomic(h, admin, Method::POST, path, body, StatusCode::OK, 1).await;
    let issue = json!({ "role": "moderator", "network": "net1", "subject": "carol" });
    let path = "/v1/admin/tokens";
    let tok = atomic(
        h,
        admin,
        Method::POST,
        path,
        Some(issue),
        StatusCode::CREATED,
        1,
    )
    .await;
    let path = format!("/v1/admin/tokens/{}", tok["id"].as_str().unwrap());
    atomic(h, admin, Method::DELETE, &path, None, StatusCode::OK, 1).await;

    // Case workflow and notes.
    let body = Some(json!({ "assignee": "mod" }));
    atomic(
        h,
        admin,
        Method::POST,
        &case("assign"),
        body,
        StatusCode::OK,
        1,
    )
    .await;
    let note = Some(json!({ "body": "looked at it" }));
    let moderator = h.net1.moderator.as_str();
    atomic(
        h,
        moderator,
        Method::POST,
        &case("notes"),
        note,
        StatusCode::CREATED,
        1,
    )
    .await;
    let body = Some(json!({ "action": "warn_sender", "note": "warned" }));
    atomic(
        h,
        moderator,
        Method::POST,
        &case("resolve"),
        body,
        StatusCode::OK,
        1,
    )
    .await;
    atomic(
        h,
        moderator,
        Method::POST,
        &case("reopen"),
        None,
        StatusCode::OK,
        1,
    )
    .await;
    atomic(
        h,
        moderator,
        Method::POST,
        &case("dismiss"),
        None,
        StatusCode::OK,
        1,
    )
    .await;

    // Retention (carol's evidence past its zero retention, case closed): one evidence.purge and
    // one retention.run.
    let path = "/v1/admin/retention/run";
    let out = atomic(h, admin, Method::POST, path, None, StatusCode::OK, 2).await;
    assert_eq!(out["evidence_purged"], 1);

    // The command-line admin token.
    let before = dump(h).await;
    break_audit(h, true).await;
    assert!(
        report_server::bootstrap::issue_admin(&h.state.db, "x")
            .await
            .is_err()
    );
    assert_eq!(dump(h).await, before);
    break_audit(h, false).await;
}

#[tokio::test]
async fn change_and_audit_entry_commit_together_sqlite() {
    scenario(&harness_with(TestDb::sqlite(), Limits::default()).await).await;
}

#[tokio::test]
async fn change_and_audit_entry_commit_together_postgres() {
    if let Some(db) = TestDb::postgres().await {
        scenario(&harness_with(db, Limits::default()).await).await;
    }
}
