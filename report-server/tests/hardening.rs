//! Issue 16 (attack review): client input the databases cannot store, concurrent key rotations,
//! the reopen/resolve race, audit gaps, retention of late evidence, the dev bootstrap, and the
//! longest ids a case is grouped by. Every scenario runs on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use report_server::Limits;
use serde_json::{Value, json};

/// SQLite always; PostgreSQL too when configured.
async fn harnesses() -> Vec<Harness> {
    let mut v = vec![harness().await];
    if let Some(db) = TestDb::postgres().await {
        v.push(harness_with(db, Limits::default()).await);
    }
    v
}

/// A real case on net1: alice → `reporter`, stamped and reported. Returns (case id, message).
async fn new_case(
    h: &Harness,
    reporter: &str,
    message_id: &str,
) -> (String, franking_core::frank::ReportedMessage) {
    let t = h.t();
    let m = franked(
        &t,
        &h.net1.relay,
        dm("net1", "alice", reporter, message_id),
        b"hello",
    )
    .await;
    let r = t
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            submission(reporter, report_json(m.clone(), reporter, vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (r.body["case_id"].as_str().unwrap().to_owned(), m)
}

fn assert_refused(what: &str, r: &Resp, code: &str) {
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, code),
        "{what}: {}",
        r.body
    );
}

// ---------------------------------------------------------------- 16.4: NUL in client input

/// U+0000 in path segments, query parameters, a decoded cursor and body strings is 400 on both
/// databases (PostgreSQL cannot store it: it used to be a 500 there), and is never stamped.
#[tokio::test]
async fn nul_bytes_are_refused_everywhere() {
    for h in harnesses().await {
        let t = h.t();
        let (case, m) = new_case(&h, "bob", "nul-1").await;
        let (admin, moder) = (Some(h.admin.as_str()), Some(h.net1.moderator.as_str()));
        // Path segments.
        for (method, path, token) in [
            (Method::GET, "/v1/cases/case%00x".to_owned(), moder),
            (Method::GET, "/v1/cases/case%00x/audit".to_owned(), moder),
            (Method::GET, "/v1/cases/case%00x/notes".to_owned(), moder),
            (Method::GET, "/v1/admin/networks/n%00x".to_owned(), admin),
            (
                Method::GET,
                "/v1/admin/networks/n%00x/policy".to_owned(),
                admin,
            ),
            (
                Method::GET,
                "/v1/admin/networks/n%00x/keys".to_owned(),
                admin,
            ),
            (
                Method::POST,
                "/v1/admin/networks/n%00x/keys/rotate".to_owned(),
                admin,
            ),
            (Method::DELETE, "/v1/admin/tokens/tok%00x".to_owned(), admin),
            (Method::POST, "/v1/cases/case%00x/reopen".to_owned(), moder),
        ] {
            let r = t.call(method, &path, token, None).await;
            assert_refused(&path, &r, "invalid_parameter");
        }
        // Query parameters, and a cursor that decodes to an id with NUL.
        for (path, token) in [
            ("/v1/cases?category=sp%00am", moder),
            ("/v1/cases?network=net1%00", admin),
            ("/v1/cases?state=open%00", moder),
            ("/v1/admin/audit?action=case%00", admin),
            ("/v1/admin/audit?network=net1%00", admin),
            ("/v1/admin/tokens?network=net1%00", admin),
        ] {
            let r = t.get(path, token).await;
            assert_refused(path, &r, "invalid_parameter");
        }
        let cursor = b64(b"5.case\0x");
        for path in [
            format!("/v1/cases?cursor={cursor}"),
            format!("/v1/admin/audit?cursor={cursor}"),
        ] {
            let r = t.get(&path, admin).await;
            assert_refused(&path, &r, "invalid_cursor");
        }
        // Body strings.
        let policy = |categories: Value| {
            let mut p = serde_json::to_value(report_server::keys::Policy::default()).unwrap();
            p["categories"] = categories;
            p
        };
        for (method, path, token, body) in [
            (
                Method::POST,
                format!("/v1/cases/{case}/dismiss"),
                moder,
                json!({ "reason": "dup\u{0}" }),
            ),
            (
                Method::POST,
                format!("/v1/cases/{case}/resolve"),
                moder,
                json!({ "action": "warn_sender", "note": "n\u{0}" }),
            ),
            (
                Method::POST,
                format!("/v1/cases/{case}/notes"),
                moder,
                json!({ "body": "a\u{0}b" }),
            ),
            (
                Method::PUT,
                "/v1/admin/networks/net1/policy".to_owned(),
                admin,
                policy(json!(["spam", "x\u{0}"])),
            ),
            (
                Method::POST,
                "/v1/admin/networks".to_owned(),
                admin,
                json!({ "id": "fresh", "policy": policy(json!(["\u{0}"])) }),
            ),
            (
                Method::POST,
                "/v1/admin/tokens".to_owned(),
                admin,
                json!({ "role": "relay", "network": "net1\u{0}", "subject": "s" }),
            ),
            (
                Method::POST,
                "/v1/admin/tokens".to_owned(),
                admin,
                json!({ "role": "relay", "network": "net1", "subject": "s", "x\u{0}": 1 }),
            ),
        ] {
            let r = t.call(method, &path, token, Some(body)).await;
            assert_refused(&path, &r, "invalid_parameter");
        }
        // A report whose (unstamped) reason or category holds NUL: refused before anything is
        // stored, although the report verifies.
        let mut report = report_json(m.clone(), "carol", vec![]);
        report["reason"] = json!("abusive\u{0}");
        let r = t
            .post(
                "/v1/reports",
                Some(&h.net1.service),
                submission("carol", report),
            )
            .await;
        assert_refused("report reason", &r, "invalid_parameter");
        let r = t
            .post(
                "/v1/reports",
                Some(&h.net1.service),
                json!({ "reporter": "bob", "category": "sp\u{0}am",
                        "report": report_json(m.clone(), "bob", vec![]) }),
            )
            .await;
        assert_refused("report category", &r, "invalid_parameter");
        // The stamping path: a context that could never be reported is never stamped.
        let mut ctx = serde_json::to_value(dm("net1", "alice", "bob", "nul-2")).unwrap();
        ctx["sender"] = json!("al\u{0}ice");
        let item = json!({ "suite": 2, "commitment": b64(&[7u8; 32]), "context": ctx });
        let r = t.post("/v1/stamp", Some(&h.net1.relay), item.clone()).await;
        assert_refused("stamp context", &r, "invalid_parameter");
        let r = t
            .post(
                "/v1/stamp/batch",
                Some(&h.net1.relay),
                json!({ "items": [item] }),
            )
            .await;
        assert_refused("batch stamp context", &r, "invalid_parameter");
        assert_eq!(count(&h.state, "reports").await, 1);
        assert_eq!(count(&h.state, "cases").await, 1);
    }
}

// ---------------------------------------------------------------- 16.8: concurrent rotations

/// 30 parallel rotations of one network: every one succeeds (they run one after the other under
/// the network's row lock), the new key ids are 2..=31 and exactly one key is current. On
/// PostgreSQL this used to deadlock into 500s.
#[tokio::test]
async fn concurrent_key_rotations_serialise() {
    for h in harnesses().await {
        let t = h.t();
        let results = concurrently(30, |_| {
            let t = t.clone();
            let admin = h.admin.clone();
            async move {
                t.post(
                    "/v1/admin/networks/net1/keys/rotate",
                    Some(&admin),
                    json!({}),
                )
                .await
            }
        })
        .await;
        let mut ids = Vec::new();
        for r in &results {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            ids.push(r.body["key_id"].as_u64().unwrap());
        }
        ids.sort_unstable();
        assert_eq!(ids, (2..=31).collect::<Vec<u64>>());
        let r = t.get("/v1/admin/networks/net1/keys", Some(&h.admin)).await;
        let keys = r.body["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 31);
        let current: Vec<_> = keys.iter().filter(|k| k["status"] == "current").collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["key_id"], 31);
        // Stamping still works with the last key.
        let m = franked(
            &t,
            &h.net1.relay,
            dm("net1", "a", "b", "after-rotations"),
            b"x",
        )
        .await;
        assert_eq!(m.stamp.key_id.0, 31);
    }
}

/// Run `n` requests made by `make(i)` concurrently (spawned tasks); outputs in request order.
async fn concurrently<F, Fut>(n: usize, make: F) -> Vec<Resp>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Resp> + Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

// ---------------------------------------------------------------- 16.7: answers from the transaction

/// A 50-way reopen/resolve race: every successful transition answers with the state it produced
/// (`Transition::apply` answers from its own `UPDATE ... RETURNING`, not from a re-read after
/// commit), losers get 409 `invalid_transition`, and the audit log has exactly one entry per
/// success.
#[tokio::test]
async fn reopen_resolve_race_answers_from_the_transaction() {
    for h in harnesses().await {
        let t = h.t();
        let (case, _) = new_case(&h, "bob", "race-1").await;
        let r = t
            .post(
                &format!("/v1/cases/{case}/resolve"),
                Some(&h.net1.moderator),
                json!({ "action": "warn_sender" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let results = concurrently(50, |i| {
            let t = t.clone();
            let token = h.net1.moderator.clone();
            let (path, body) = if i % 2 == 0 {
                (format!("/v1/cases/{case}/reopen"), json!({}))
            } else {
                (
                    format!("/v1/cases/{case}/resolve"),
                    json!({ "action": "ban_sender" }),
                )
            };
            async move { t.post(&path, Some(&token), body).await }
        })
        .await;
        let mut successes = 0;
        for (i, r) in results.iter().enumerate() {
            match r.status {
                StatusCode::OK => {
                    successes += 1;
                    let want = if i % 2 == 0 { "open" } else { "resolved" };
                    assert_eq!(r.body["state"], want, "call {i}: {}", r.body);
                    if want == "open" {
                        assert!(r.body["resolution_action"].is_null(), "{}", r.body);
                    } else {
                        assert_eq!(r.body["resolution_action"], "ban_sender");
                    }
                }
                StatusCode::CONFLICT => assert_eq!(r.code(), "invalid_transition"),
                other => panic!("call {i}: {other} {}", r.body),
            }
        }
        assert!(successes >= 1);
        let r = t
            .get(&format!("/v1/cases/{case}/audit"), Some(&h.admin))
            .await;
        let transitions = r.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "case.reopen" || e["action"] == "case.resolve")
            .count();
        // The initial resolve plus one entry per successful racer.
        assert_eq!(transitions, 1 + successes);
    }
}

// ---------------------------------------------------------------- 16.3 / 16.6: the dev bootstrap

async fn fresh_dbs() -> Vec<TestDb> {
    let mut v = vec![TestDb::sqlite()];
    if let Some(db) = TestDb::postgres().await {
        v.push(db);
    }
    v
}

async fn scalar(pool: &sqlx::AnyPool, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
    n
}

async fn data_counts(pool: &sqlx::AnyPool) -> [i64; 4] {
    [
        scalar(pool, "SELECT COUNT(*) FROM networks").await,
        scalar(pool, "SELECT COUNT(*) FROM tokens").await,
        scalar(pool, "SELECT COUNT(*) FROM audit_log").await,
        scalar(
            pool,
            "SELECT COUNT(*) FROM server_meta WHERE name = 'dev_bootstrap'",
        )
        .await,
    ]
}

/// The dev bootstrap runs only on an empty database that was never used in production, exactly
/// once across instances, with one `bootstrap.dev` audit entry naming the network and every token;
/// if its tokens cannot be printed nothing is created and a later start may try again.
#[tokio::test]
async fn dev_bootstrap_only_on_empty_non_production_databases_and_audited() {
    use report_server::bootstrap::{NoBootstrap, dev_bootstrap, issue_admin, record_production};
    use report_server::seal::ServerKey;
    for db in fresh_dbs().await {
        let key = ServerKey::generate().unwrap();
        let (a, _) = report_server::db::connect(&db.url, 4).await.unwrap();
        let (b, _) = report_server::db::connect(&db.url, 4).await.unwrap();

        // Printing fails: nothing is created, the claim is released.
        let err = dev_bootstrap(&a, &key, |_| {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("nothing was created"), "{err}");
        assert_eq!(data_counts(&a).await, [0, 0, 0, 0]);

        // Two instances at once: exactly one bootstraps.
        let mut printed = 0;
        let (ra, rb) = tokio::join!(
            dev_bootstrap(&a, &key, |t| {
                assert_eq!(t.admin.len(), 43);
                Ok(())
            }),
            dev_bootstrap(&b, &key, |_| {
                printed += 1;
                Ok(())
            })
        );
        let mut outcomes = [ra.unwrap(), rb.unwrap()];
        outcomes.sort_by_key(|o| o.is_err());
        assert_eq!(outcomes, [Ok(()), Err(NoBootstrap::AlreadyDone)]);
        assert!(printed <= 1);
        assert_eq!(data_counts(&a).await, [1, 4, 1, 1]);
        let (actor, action, target, details): (String, String, String, String) =
            sqlx::query_as("SELECT actor, action, target, details FROM audit_log")
                .fetch_one(&a)
                .await
                .unwrap();
        assert_eq!(
            (actor.as_str(), action.as_str(), target.as_str()),
            ("system:bootstrap", "bootstrap.dev", "network:dev")
        );
        let details: Value = serde_json::from_str(&details).unwrap();
        let tokens = details["tokens"].as_array().unwrap();
        assert_eq!(tokens.len(), 4);
        let (ids,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM tokens WHERE id IN ({})",
            tokens
                .iter()
                .map(|t| format!("'{}'", t["id"].as_str().unwrap()))
                .collect::<Vec<_>>()
                .join(",")
        )))
        .fetch_one(&a)
        .await
        .unwrap();
        assert_eq!(ids, 4, "the audit entry names every token");
        assert!(!details.to_string().contains("token_hash"));

        // A production database, or one with somebody's tokens, is never bootstrapped.
        for case in ["production", "token"] {
            let other = TestDb::sqlite();
            let (p, _) = report_server::db::connect(&other.url, 2).await.unwrap();
            if case == "production" {
                record_production(&p).await.unwrap();
                record_production(&p).await.unwrap();
            } else {
                issue_admin(&p, "ops").await.unwrap();
            }
            let before = data_counts(&p).await;
            let r = dev_bootstrap(&p, &key, |_| panic!("must not print tokens"))
                .await
                .unwrap();
            let want = if case == "production" {
                NoBootstrap::Production
            } else {
                NoBootstrap::NotEmpty
            };
            assert_eq!(r, Err(want));
            assert_eq!(data_counts(&p).await, before, "{case}");
            p.close().await;
        }
        a.close().await;
        b.close().await;
    }
}

// ------------------------------------------------------ the longest ids a case is grouped by

/// `len` (at most 1024) random hexadecimal characters, which PostgreSQL cannot compress below its
/// btree limit.
fn incompressible(len: usize) -> String {
    let hex = hex::encode(report_server::util::random_bytes::<512>().unwrap());
    hex[..len].to_owned()
}

/// A network id of the longest length a network may have, and a message whose sender and
/// message id are as long as a context allows: the report is stored (201) on both databases. With
/// a longer network id the case's unique `(network_id, group_key)` entry would not fit
/// PostgreSQL's btree index, a 500; one byte more is refused when the network is created.
#[tokio::test]
async fn the_longest_ids_a_case_is_grouped_by_are_stored() {
    use franking_core::frank::MAX_ID_LEN;
    use report_server::keys::MAX_NETWORK_ID_LEN;
    for h in harnesses().await {
        let t = h.t();
        let too_long = incompressible(MAX_NETWORK_ID_LEN + 1);
        let r = t
            .post(
                "/v1/admin/networks",
                Some(&h.admin),
                json!({ "id": too_long }),
            )
            .await;
        assert_refused("a network id one byte too long", &r, "invalid_parameter");
        let net = incompressible(MAX_NETWORK_ID_LEN);
        let r = t
            .post("/v1/admin/networks", Some(&h.admin), json!({ "id": net }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let tokens = net_tokens(&h.state, &net).await;
        let sender = incompressible(MAX_ID_LEN);
        let message_id = incompressible(MAX_ID_LEN);
        let m = franked(
            &t,
            &tokens.relay,
            dm(&net, &sender, "bob", &message_id),
            b"hello",
        )
        .await;
        let r = t
            .post(
                "/v1/reports",
                Some(&tokens.service),
                submission("bob", report_json(m, "bob", vec![])),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
}
