//! One case per message (issue 17; review finding 13.1): reports of the same message — same network,
//! sender, message id and commitment — join one case whatever delivery stamp each reporter holds;
//! a resend under a new message id is another case; migration 0030 merges cases that the old
//! stamp-bytes grouping split. On SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::borrow::Cow;

use axum::http::StatusCode;
use common::*;
use franking_core::frank::{
    Context, Envelope, KeyId, KeyRing, Report, ReportedMessage, SessionKey, StampKey, Suite, open,
    seal,
};
use report_server::evidence::{SEAL_PURPOSE, seal_context};
use report_server::keys::{Policy, create_network};
use report_server::seal::ServerKey;
use report_server::{Limits, db};
use serde_json::{Value, json};
use sqlx::AnyPool;

const BODY_AD: &[u8] = b"room-1";

/// The sender seals once; the relay stamps the one envelope per delivery context.
struct GroupMessage {
    sk: SessionKey,
    env: Envelope,
}

impl GroupMessage {
    fn new(text: &[u8]) -> Self {
        let sk = SessionKey::generate().unwrap();
        let env = seal(Suite::default(), &sk, BODY_AD, text).unwrap();
        Self { sk, env }
    }

    /// Stamped by the server for `ctx`, opened, as the recipient keeps it.
    async fn delivered(&self, t: &Transport, relay: &str, ctx: Context) -> ReportedMessage {
        let stamp = stamp_via_server(t, relay, &self.env, &ctx).await;
        let opened = open(&self.env, &self.sk, BODY_AD).unwrap();
        ReportedMessage::new(&self.env, BODY_AD, &opened, ctx, stamp)
    }
}

fn delivery(recipients: &[&str], message_id: &str, ts: u64) -> Context {
    let recipients = recipients.iter().map(|r| (*r).to_owned()).collect();
    Context::room("net1", "alice", "room-1", recipients, ts, message_id).unwrap()
}

async fn submit(h: &Harness, reporter: &str, m: &ReportedMessage) -> Resp {
    h.t()
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            submission(reporter, report_json(m.clone(), reporter, vec![])),
        )
        .await
}

#[tokio::test]
async fn reports_of_one_message_join_one_case_whatever_the_stamp() {
    for h in harnesses().await {
        let t = h.t();
        let msg = GroupMessage::new(b"group spam");
        let now = now_ms();
        // Per-delivery stamps (one recipient each, delivered a moment apart) and a listed-recipient
        // stamp naming both: three stamps, one message.
        let for_bob = msg
            .delivered(&t, &h.net1.relay, delivery(&["bob"], "m1", now))
            .await;
        let for_carol = msg
            .delivered(&t, &h.net1.relay, delivery(&["carol"], "m1", now + 1))
            .await;
        let listed = msg
            .delivered(&t, &h.net1.relay, delivery(&["bob", "carol"], "m1", now))
            .await;
        assert_ne!(for_bob.stamp, for_carol.stamp);

        let r = submit(&h, "bob", &for_bob).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}: {}",
            h.db.backend,
            r.body
        );
        let case_id = r.body["case_id"].as_str().unwrap().to_owned();
        let bob_report = r.body["report_id"].clone();
        let r = submit(&h, "carol", &for_carol).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["case_id"], case_id.as_str(), "{}", h.db.backend);
        assert_eq!(r.body["report_count"], 2);
        // bob again, with another stamp of the same message: idempotent.
        for again in [&for_bob, &listed] {
            let r = submit(&h, "bob", again).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            assert_eq!(r.body["duplicate"], true);
            assert_eq!(r.body["case_id"], case_id.as_str());
            assert_eq!(r.body["report_id"], bob_report);
            assert_eq!(r.body["report_count"], 2);
        }
        // A signature added to an HMAC-only stamp: a second encoding, refused before any write.
        let before = count(&h.state, "reports").await;
        let mut signed = for_bob.clone();
        signed.stamp.signature = Some([7; 64]);
        let r = submit(&h, "bob", &signed).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "unexpected_signature"),
            "{}",
            r.body
        );
        // `null` instead of an omitted signature: one JSON encoding per value.
        let mut body = report_json(for_bob.clone(), "bob", vec![]);
        body["message"]["stamp"]["signature"] = Value::Null;
        let r = t
            .post(
                "/v1/reports",
                Some(&h.net1.service),
                submission("bob", body),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "json_null"),
            "{}",
            r.body
        );
        assert_eq!(count(&h.state, "reports").await, before);

        // The case lists its distinct reporters.
        let r = t
            .get(&format!("/v1/cases/{case_id}"), Some(&h.net1.moderator))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["reporters"], json!(["bob", "carol"]));
        assert_eq!(r.body["report_count"], 2);
        assert_eq!(r.body["evidence"].as_array().unwrap().len(), 2);

        // The same envelope sent again under a new message id is another message.
        let resent = msg
            .delivered(&t, &h.net1.relay, delivery(&["bob"], "m2", now + 5))
            .await;
        let r = submit(&h, "bob", &resent).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_ne!(r.body["case_id"], case_id.as_str());
        assert_eq!(count(&h.state, "cases").await, 2, "{}", h.db.backend);
    }
}

/// The longest identifiers (1024-byte sender and message id) group without a server error.
#[tokio::test]
async fn longest_identifiers_group_fine() {
    for h in harnesses().await {
        let t = h.t();
        let msg = GroupMessage::new(b"long ids");
        let (sender, id) = ("s".repeat(1024), "é".repeat(512));
        let ctx = |r: &str| {
            Context::room("net1", &sender, "room-1", vec![r.into()], now_ms(), &id).unwrap()
        };
        let for_bob = msg.delivered(&t, &h.net1.relay, ctx("bob")).await;
        let for_carol = msg.delivered(&t, &h.net1.relay, ctx("carol")).await;
        let a = submit(&h, "bob", &for_bob).await;
        let b = submit(&h, "carol", &for_carol).await;
        assert_eq!(
            a.status,
            StatusCode::CREATED,
            "{}: {}",
            h.db.backend,
            a.body
        );
        assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
        assert_eq!(a.body["case_id"], b.body["case_id"]);
    }
}

// ---------------------------------------------------------------- migration 0030

/// A database at schema version 20 (before one case per message).
async fn legacy_pool(db: &TestDb) -> AnyPool {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(&db.url).await.unwrap();
    let all = db::migrator();
    let legacy = sqlx::migrate::Migrator {
        migrations: Cow::Owned(
            all.migrations
                .iter()
                // Before 0030, plus the later migrations that do not touch grouping but add
                // columns the current `create_network` writes (0040: policy `sign_stamps`, ...).
                .filter(|m| m.version < 30 || m.version >= 40)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    legacy.run(&pool).await.unwrap();
    pool
}

/// What a recipient reports (made locally: evidence only has to parse).
fn report_of(ring: &KeyRing, env: &Envelope, sk: &SessionKey, ctx: Context, who: &str) -> Report {
    let stamp = ring.stamp(env.suite, &env.commitment, &ctx).unwrap();
    let opened = open(env, sk, BODY_AD).unwrap();
    Report {
        message: ReportedMessage::new(env, BODY_AD, &opened, ctx, stamp),
        reporter: who.into(),
        reason: format!("{who} says spam"),
        earlier: vec![],
    }
}

struct Legacy<'a> {
    pool: &'a AnyPool,
    key: &'a ServerKey,
}

impl Legacy<'_> {
    /// A case as the old intake wrote it (grouped by the stamp's bytes).
    async fn case(&self, id: &str, state: &str, first: i64, r: &Report) {
        let stamp = b64(&r.message.stamp.to_bytes().unwrap());
        sqlx::query(
            "INSERT INTO cases (id, network_id, group_key, commitment, stamp, key_id, sender, \
             message_id, message_ts, state, category, report_count, first_reported_at, \
             last_reported_at, updated_at, resolved_at) \
             VALUES ($1, 'legacy', $2, $3, $4, 1, $5, $6, $7, $8, NULL, 0, $9, $9, $9, $10)",
        )
        .bind(id)
        .bind(format!("old-{id}"))
        .bind(b64(r.message.commitment.as_bytes()))
        .bind(stamp)
        .bind(r.message.context.sender())
        .bind(r.message.context.message_id())
        .bind(r.message.context.timestamp_ms() as i64)
        .bind(state)
        .bind(first)
        .bind((state == "resolved").then_some(first + 1))
        .execute(self.pool)
        .await
        .unwrap();
    }

    /// A report with its case reporter row, sealed evidence and a note, as the old intake did.
    async fn report(&self, id: &str, case: &str, at: i64, r: &Report) {
        sqlx::query(
            "INSERT INTO reports (id, case_id, network_id, reporter, reason, category, \
             earlier_count, received_at) VALUES ($1, $2, 'legacy', $3, $4, NULL, 0, $5)",
        )
        .bind(id)
        .bind(case)
        .bind(&r.reporter)
        .bind(&r.reason)
        .bind(at)
        .execute(self.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO case_reporters (case_id, reporter, first_reported_at) \
             VALUES ($1, $2, $3)",
        )
        .bind(case)
        .bind(&r.reporter)
        .bind(at)
        .execute(self.pool)
        .await
        .unwrap();
        let evd = format!("evd_{id}");
        let sealed = report_server::seal::seal(
            self.key,
            SEAL_PURPOSE,
            &seal_context(&evd, case),
            &serde_json::to_vec(r).unwrap(),
        )
        .unwrap();
        sqlx::query(
            "INSERT INTO evidence (id, case_id, report_id, sealed, created_at, purge_after) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&evd)
        .bind(case)
        .bind(id)
        .bind(sealed)
        .bind(at)
        .bind(at + 1_000_000)
        .execute(self.pool)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE cases SET report_count = report_count + 1, last_reported_at = $2, \
             updated_at = $2 WHERE id = $1",
        )
        .bind(case)
        .bind(at)
        .execute(self.pool)
        .await
        .unwrap();
    }
}

/// Cases split by the old grouping (per-delivery stamps, a re-stamp by the same reporter) are
/// merged: one case with the union of reporters, every evidence item still decrypting, one report
/// per reporter, the merge in `case_merges` and the audit log; other messages are untouched.
#[tokio::test]
async fn migration_merges_cases_of_one_message() {
    let mut dbs = vec![TestDb::sqlite()];
    dbs.extend(TestDb::postgres().await);
    for test_db in dbs {
        let backend = test_db.backend;
        let key = ServerKey::generate().unwrap();
        let pool = legacy_pool(&test_db).await;
        create_network(&pool, &key, "legacy", "L", &Policy::default())
            .await
            .unwrap();
        let ring = KeyRing::new("legacy", StampKey::generate(KeyId(1), false).unwrap(), 0, 0);
        let sk = SessionKey::generate().unwrap();
        let env = seal(Suite::default(), &sk, BODY_AD, b"old spam").unwrap();
        let ts = now_ms();
        let ctx = |r: &[&str], id: &str| {
            let r = r.iter().map(|x| (*x).to_owned()).collect();
            Context::room("legacy", "alice", "room-1", r, ts, id).unwrap()
        };
        let bob = report_of(&ring, &env, &sk, ctx(&["bob"], "m1"), "bob");
        let carol = report_of(&ring, &env, &sk, ctx(&["carol"], "m1"), "carol");
        let bob_again = report_of(&ring, &env, &sk, ctx(&["bob", "carol"], "m1"), "bob");
        let other = report_of(&ring, &env, &sk, ctx(&["bob"], "m2"), "bob");
        let l = Legacy {
            pool: &pool,
            key: &key,
        };
        // case_a: bob (resolved, reported first); case_b: carol, open; case_c: bob again with the
        // listed stamp; case_d: the resend under m2 (another message).
        l.case("case_a", "resolved", 100, &bob).await;
        l.report("rep_a", "case_a", 100, &bob).await;
        l.case("case_b", "open", 200, &carol).await;
        l.report("rep_b", "case_b", 200, &carol).await;
        sqlx::query(
            "INSERT INTO notes (id, case_id, author, body, created_at) \
             VALUES ('note_b', 'case_b', 'mod', 'looked', 210)",
        )
        .execute(&pool)
        .await
        .unwrap();
        l.case("case_c", "open", 300, &bob_again).await;
        l.report("rep_c", "case_c", 300, &bob_again).await;
        l.case("case_d", "open", 400, &other).await;
        l.report("rep_d", "case_d", 400, &other).await;
        pool.close().await;

        // The server connects: migration 0030 runs, the audit backfill chains its entries.
        let state = state_for(&test_db, key, Limits::default()).await;
        let q = |sql: &'static str| sqlx::query_as::<_, (String, String)>(sql);
        let cases: Vec<(String, String)> = q("SELECT id, state FROM cases ORDER BY id")
            .fetch_all(&state.db)
            .await
            .unwrap();
        // The open case survives (open work is never hidden behind a closed case).
        assert_eq!(
            cases,
            [
                ("case_b".to_owned(), "open".to_owned()),
                ("case_d".to_owned(), "open".to_owned())
            ],
            "{backend}"
        );
        let merges: Vec<(String, String)> =
            q("SELECT case_id, merged_into FROM case_merges ORDER BY case_id")
                .fetch_all(&state.db)
                .await
                .unwrap();
        assert_eq!(
            merges,
            [
                ("case_a".to_owned(), "case_b".to_owned()),
                ("case_c".to_owned(), "case_b".to_owned())
            ]
        );
        // One report per reporter (bob's earliest), all three evidence items kept.
        let reports: Vec<(String, String)> =
            q("SELECT id, reporter FROM reports WHERE case_id = 'case_b' ORDER BY id")
                .fetch_all(&state.db)
                .await
                .unwrap();
        assert_eq!(
            reports,
            [
                ("rep_a".to_owned(), "bob".to_owned()),
                ("rep_b".to_owned(), "carol".to_owned())
            ]
        );
        let (count, first, last): (i64, i64, i64) = sqlx::query_as(
            "SELECT report_count, first_reported_at, last_reported_at FROM cases \
             WHERE id = 'case_b'",
        )
        .fetch_one(&state.db)
        .await
        .unwrap();
        assert_eq!((count, first, last), (2, 100, 300));

        // Through the API: the merged case decrypts every evidence item (sealed for its old case),
        // lists its distinct reporters, and the audit chain (with the merge entries) verifies.
        let admin = report_server::bootstrap::issue_admin(&state.db, "admin")
            .await
            .unwrap()
            .to_string();
        let t = Transport::Router(report_server::router(state.clone()));
        let r = t.get("/v1/cases/case_b", Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{backend}: {}", r.body);
        assert_eq!(r.body["reporters"], json!(["bob", "carol"]));
        assert_eq!(r.body["report_count"], 2);
        assert_eq!(r.body["note_count"], 1);
        let evidence = r.body["evidence"].as_array().unwrap();
        assert_eq!(evidence.len(), 3, "{}", r.body);
        for e in evidence {
            assert!(e["content"]["message"].is_object(), "{e}");
        }
        let reasons: Vec<&str> = evidence
            .iter()
            .map(|e| e["content"]["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            ["bob says spam", "carol says spam", "bob says spam"]
        );
        let r = t.get("/v1/cases/case_b/audit", Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.to_string().contains("case.merge"), "{}", r.body);
        let r = t.get("/v1/admin/audit/verify", Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["ok"], true, "{}", r.body);

        // New reports of the message join the surviving case.
        let relay = net_tokens(&state, "legacy").await;
        let dave_ctx = ctx(&["dave"], "m1");
        let stamp = stamp_via_server(&t, &relay.relay, &env, &dave_ctx).await;
        let opened = open(&env, &sk, BODY_AD).unwrap();
        let m = ReportedMessage::new(&env, BODY_AD, &opened, dave_ctx, stamp);
        let r = t
            .post(
                "/v1/reports",
                Some(&relay.service),
                submission("dave", report_json(m, "dave", vec![])),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["case_id"], "case_b");
        assert_eq!(r.body["report_count"], 3);
    }
}
