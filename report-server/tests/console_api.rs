//! The JSON API additions the console's queue uses: `GET /v1/cases?sort=&assignee=` (keyset
//! paging per order) and `GET /v1/cases/counts`. SQLite always; PostgreSQL too when configured.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;

use axum::http::StatusCode;
use common::*;
use console_support::*;
use report_server::Limits;
use serde_json::{Value, json};

async fn harnesses() -> Vec<Harness> {
    let mut v = vec![harness().await];
    if let Some(db) = TestDb::postgres().await {
        v.push(harness_with(db, Limits::default()).await);
    }
    v
}

/// Every page of `GET /v1/cases{query}` (limit 2), concatenated ids.
async fn all_pages(t: &Transport, token: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let sep = if query.is_empty() { "?" } else { "&" };
        let c = cursor
            .as_ref()
            .map_or(String::new(), |c| format!("&cursor={c}"));
        let r = t
            .get(&format!("/v1/cases{query}{sep}limit=2{c}"), Some(token))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for c in r.body["cases"].as_array().unwrap() {
            ids.push(c["id"].as_str().unwrap().to_owned());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
    panic!("too many pages");
}

async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
}

#[tokio::test]
async fn sort_orders_assignee_filter_and_counts() {
    for h in harnesses().await {
        scenario(&h).await;
    }
}

async fn scenario(h: &Harness) {
    let t = h.t();
    let m = h.net1.moderator.as_str();
    // Cases with 1, 3, 2 and 1 reporters, first reported in this order.
    let a = case_with_text(&t, &h.net1, "net1", "alice", "spam", "a").await;
    tick().await;
    let b = room_case(
        &t,
        &h.net1,
        "net1",
        RoomCase {
            sender: "zed",
            reporters: &["p", "q", "r"],
            earlier: &[],
            text: "b",
            category: "harassment",
        },
    )
    .await;
    tick().await;
    let c = room_case(
        &t,
        &h.net1,
        "net1",
        RoomCase {
            sender: "zed",
            reporters: &["p", "q"],
            earlier: &[],
            text: "c",
            category: "spam",
        },
    )
    .await;
    tick().await;
    let d = case_with_text(&t, &h.net1, "net1", "alice", "spam", "d").await;
    let _other = case_with_text(&t, &h.net2, "net2", "alice", "spam", "x").await;

    assert_eq!(
        all_pages(&t, m, "").await,
        [d.as_str(), c.as_str(), b.as_str(), a.as_str()]
    );
    assert_eq!(
        all_pages(&t, m, "?sort=newest").await,
        [d.as_str(), c.as_str(), b.as_str(), a.as_str()]
    );
    assert_eq!(
        all_pages(&t, m, "?sort=oldest").await,
        [a.as_str(), b.as_str(), c.as_str(), d.as_str()]
    );
    // Most reported first; equal counts by id, descending.
    let mut ones = [a.clone(), d.clone()];
    ones.sort();
    ones.reverse();
    assert_eq!(
        all_pages(&t, m, "?sort=most_reported").await,
        [b.as_str(), c.as_str(), ones[0].as_str(), ones[1].as_str()]
    );
    assert_eq!(
        all_pages(&t, m, "?sort=most_reported&category=spam").await,
        [c.as_str(), ones[0].as_str(), ones[1].as_str()]
    );

    // A cursor of one order is refused by another.
    let page = t.get("/v1/cases?sort=most_reported&limit=1", Some(m)).await;
    let cur = page.body["next_cursor"].as_str().unwrap().to_owned();
    for other in ["newest", "oldest"] {
        let r = t
            .get(&format!("/v1/cases?sort={other}&cursor={cur}"), Some(m))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "invalid_cursor"),
            "{other}"
        );
    }
    let page = t.get("/v1/cases?limit=1", Some(m)).await;
    let cur = page.body["next_cursor"].as_str().unwrap().to_owned();
    let r = t
        .get(&format!("/v1/cases?sort=oldest&cursor={cur}"), Some(m))
        .await;
    assert_eq!(r.code(), "invalid_cursor");
    let r = t.get("/v1/cases?sort=loudest", Some(m)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_parameter")
    );

    // Assignee filter and counts.
    let r = t
        .post(&format!("/v1/cases/{b}/assign"), Some(m), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t
        .post(&format!("/v1/cases/{c}/dismiss"), Some(m), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(all_pages(&t, m, "?assignee=mod").await, [b.as_str()]);
    assert!(all_pages(&t, m, "?assignee=nobody").await.is_empty());

    let counts = |q: &'static str, token: &'static str| {
        let t = t.clone();
        let token = match token {
            "admin" => h.admin.clone(),
            _ => h.net1.moderator.clone(),
        };
        async move {
            let r = t.get(&format!("/v1/cases/counts{q}"), Some(&token)).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
            r.body
        }
    };
    assert_eq!(
        counts("", "mod").await,
        json!({ "counts": { "open": 2, "assigned": 1, "resolved": 0, "dismissed": 1 }, "total": 4 })
    );
    assert_eq!(
        counts("?category=spam", "mod").await["counts"],
        json!({ "open": 2, "assigned": 0, "resolved": 0, "dismissed": 1 })
    );
    assert_eq!(counts("?assignee=mod", "mod").await["total"], 1);
    // Admins count every network unless they name one.
    assert_eq!(counts("", "admin").await["total"], 5);
    assert_eq!(counts("?network=net2", "admin").await["counts"]["open"], 1);
    let future = now_ms() + 3_600_000;
    let r = t
        .get(&format!("/v1/cases/counts?from={future}"), Some(m))
        .await;
    assert_eq!(r.body["total"], 0);

    // Errors: another network, an inverted range, unknown parameters, no token, a relay token.
    for (q, token, status, code) in [
        ("?network=net2", m, StatusCode::FORBIDDEN, "wrong_network"),
        (
            "?from=10&to=5",
            m,
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "?state=open",
            m,
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        ("?from=x", m, StatusCode::BAD_REQUEST, "invalid_parameter"),
        (
            "",
            h.net1.relay.as_str(),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ] {
        let r = t.get(&format!("/v1/cases/counts{q}"), Some(token)).await;
        assert_eq!((r.status, r.code()), (status, code), "{q}: {}", r.body);
    }
    let r = t.get("/v1/cases/counts", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let _: Value = r.body;
}
