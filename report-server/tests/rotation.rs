//! Server-key rotation (issue 13): every sealed column re-sealed under a new key, online (reads
//! keep working with both keys configured), resumable after a stop mid-rotation, verified at the
//! end; wrong or missing keys refused with a precise message. SQLite always; PostgreSQL too when
//! `TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::http::StatusCode;
use common::*;
use report_server::rotation::{self, RotateOptions};
use report_server::seal::{SEALED_COLUMNS, ServerKey};
use report_server::{Limits, router};
use serde_json::json;

/// Every column a migration creates whose name says it is sealed is in `SEALED_COLUMNS`, and
/// nothing else is.
#[test]
fn sealed_columns_cover_every_migration() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let sql: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let mut listed: Vec<String> = SEALED_COLUMNS
        .iter()
        .map(|c| format!("{}.{}", c.table, c.column))
        .collect();
    listed.sort();
    assert_eq!(rotation::sealed_columns_in(&sql), listed);
    // The scanner itself finds a new sealed column (so this test can fail).
    let more = format!("{sql}\nCREATE TABLE notes_x (\n    id TEXT,\n    body_sealed TEXT\n);\n");
    assert!(rotation::sealed_columns_in(&more).contains(&"notes_x.body_sealed".to_owned()));
}

/// Data in every sealed column: stamping keys (networks), evidence and attachment chunks (a
/// report with an attachment, and a plain one), both webhook secret columns (a rotated secret),
/// the key-check row. Returns (case with attachment, download path, webhook id).
async fn populate(h: &Harness) -> (String, String, String) {
    let t = h.t();
    let receipt = report_with_attachment(&t, "net1", &h.net1, &[7u8; 300_000]).await;
    let case = receipt["case_id"].as_str().unwrap().to_owned();
    report_plain(&t, "net2", &h.net2, b"plain").await;
    let r = t
        .post(
            "/v1/admin/networks/net1/webhooks",
            Some(&h.admin),
            json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let webhook = r.body["id"].as_str().unwrap().to_owned();
    let r = t
        .post(
            &format!("/v1/admin/webhooks/{webhook}/rotate-secret"),
            Some(&h.admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let view = t.get(&format!("/v1/cases/{case}"), Some(&h.admin)).await;
    let download = first_download(&view.body).expect("a download link");
    (case, download, webhook)
}

/// Reads and writes that need every kind of sealed value, through a server with `key`.
async fn exercise(h: &Harness, key: ServerKey, case: &str, download: &str) {
    let state = state_for(&h.db, key, Limits::default()).await;
    let t = Transport::Router(router(state));
    let view = t.get(&format!("/v1/cases/{case}"), Some(&h.admin)).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    assert!(
        view.body.to_string().contains("see attached"),
        "{}",
        view.body
    );
    let file = t.get(download, Some(&h.admin)).await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.body);
    // Stamping opens the stamping key; a new report seals new evidence.
    report_plain(&t, "net1", &h.net1, b"after").await;
}

async fn rotation_on(h: &Harness) {
    let old = (*h.state.server_key).clone();
    let (case, download, _webhook) = populate(h).await;
    let new = ServerKey::generate().unwrap();
    let both = new.clone().with_previous(&old).unwrap();

    // Missing previous key, wrong previous key: refused before anything changes.
    let e = rotation::rotate(&h.state.db, &new, &RotateOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("FRANKING_PREVIOUS_SERVER_KEY"), "{e}");
    let stranger = ServerKey::generate().unwrap();
    let wrong = new.clone().with_previous(&stranger).unwrap();
    let e = rotation::rotate(&h.state.db, &wrong, &RotateOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not match"), "{e}");

    // An injected stop mid-rotation (as after kill -9: committed batches stay).
    let stop = RotateOptions {
        batch_size: 1,
        stop_after_batches: Some(3),
    };
    let partial = rotation::rotate(&h.state.db, &both, &stop).await.unwrap();
    assert!(!partial.complete);
    // Neither key alone opens everything now; both together do (reading during the rotation).
    assert!(rotation::verify(&h.state.db, &new).await.is_err());
    assert!(rotation::verify(&h.state.db, &old).await.is_err());
    exercise(h, both.clone(), &case, &download).await;
    // Only the old key: refused at start (the key check was re-sealed first).
    let (pool, _) = report_server::db::connect(&h.db.url, 2).await.unwrap();
    let e = report_server::bootstrap::check_server_key(&pool, &old)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not match"), "{e}");

    // Resume: finishes and verifies.
    let done = rotation::rotate(&h.state.db, &both, &RotateOptions::default())
        .await
        .unwrap();
    assert!(done.complete, "{done:?}");
    for col in &done.columns {
        assert!(col.values > 0, "no data in {} to rotate", col.column);
    }
    let verified = rotation::verify(&h.state.db, &new).await.unwrap();
    assert_eq!(verified.key_id, new.id().to_string());
    let e = rotation::verify(&h.state.db, &old)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not open under server key"), "{e}");
    // The new key alone serves everything; running again re-seals nothing.
    exercise(h, new.clone(), &case, &download).await;
    let again = rotation::rotate(&h.state.db, &both, &RotateOptions::default())
        .await
        .unwrap();
    assert!(again.columns.iter().all(|c| c.resealed == 0), "{again:?}");
    let row: (Option<i64>, i64) = sqlx::query_as(
        "SELECT finished_at, resealed FROM server_key_rotations WHERE new_key_id = $1",
    )
    .bind(new.id().to_string())
    .fetch_one(&h.state.db)
    .await
    .unwrap();
    assert!(row.0.is_some() && row.1 > 0, "{row:?}");
    let audit = h
        .t()
        .get("/v1/admin/audit?action=server_key.rotate", Some(&h.admin))
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    let entries = audit.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 2, "{}", audit.body);
    assert!(entries.iter().all(|e| e["actor"] == rotation::ACTOR));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_reseals_everything_online_and_resumably() {
    for h in harnesses().await {
        rotation_on(&h).await;
    }
}

/// `report-server rotate-server-key` with `envs` on the data dir `dir`: (success, stdout, stderr).
fn rotate_cli(
    dir: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_report-server"));
    cmd.arg("--data-dir")
        .arg(dir)
        .arg("rotate-server-key")
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("FRANKING_SERVER_KEY")
        .env_remove("FRANKING_PREVIOUS_SERVER_KEY")
        .env_remove("FRANKING_PRODUCTION")
        .env_remove("FRANKING_CONFIG")
        .env("RUST_LOG", "warn");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The binary: refusals with precise messages, then a rotation of a dev database, its
/// verification, and a server that starts with the new key only (and not with the old one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotate_server_key_command() {
    let dir = process::data_dir("rotate-cli");
    let old = ServerKey::generate().unwrap().to_base64().to_string();
    let new = ServerKey::generate().unwrap().to_base64().to_string();
    let stranger = ServerKey::generate().unwrap().to_base64().to_string();
    // A dev start seals the key check and the dev network's stamping key under the old key.
    let mut server = process::ServerProcess::start(&dir, &[("FRANKING_SERVER_KEY", &old)]).await;
    server.kill9();

    let (ok, _, err) = rotate_cli(&dir, &[], &[]);
    assert!(
        !ok && err.contains("needs the new key in FRANKING_SERVER_KEY"),
        "{err}"
    );
    let (ok, _, err) = rotate_cli(&dir, &[], &[("FRANKING_SERVER_KEY", &new)]);
    assert!(!ok && err.contains("FRANKING_PREVIOUS_SERVER_KEY"), "{err}");
    let envs = [
        ("FRANKING_SERVER_KEY", new.as_str()),
        ("FRANKING_PREVIOUS_SERVER_KEY", new.as_str()),
    ];
    let (ok, _, err) = rotate_cli(&dir, &[], &envs);
    assert!(!ok && err.contains("is the same key"), "{err}");
    let envs = [
        ("FRANKING_SERVER_KEY", new.as_str()),
        ("FRANKING_PREVIOUS_SERVER_KEY", stranger.as_str()),
    ];
    let (ok, _, err) = rotate_cli(&dir, &[], &envs);
    assert!(!ok && err.contains("does not match"), "{err}");
    let envs = [
        ("FRANKING_SERVER_KEY", new.as_str()),
        ("FRANKING_PREVIOUS_SERVER_KEY", "short"),
    ];
    let (ok, _, err) = rotate_cli(&dir, &[], &envs);
    assert!(!ok && err.contains("FRANKING_PREVIOUS_SERVER_KEY"), "{err}");

    let envs = [
        ("FRANKING_SERVER_KEY", new.as_str()),
        ("FRANKING_PREVIOUS_SERVER_KEY", old.as_str()),
    ];
    let (ok, out, err) = rotate_cli(&dir, &["--batch-size", "1"], &envs);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["complete"], true, "{out}");
    let (ok, _, err) = rotate_cli(&dir, &["--verify-only"], &[("FRANKING_SERVER_KEY", &new)]);
    assert!(ok, "{err}");
    let (ok, _, err) = rotate_cli(&dir, &["--verify-only"], &[("FRANKING_SERVER_KEY", &old)]);
    assert!(
        !ok && err.contains("does not open under server key"),
        "{err}"
    );
    // The new key alone serves; the old one is refused at start.
    let mut server = process::ServerProcess::start(&dir, &[("FRANKING_SERVER_KEY", &new)]).await;
    assert!(server.is_running());
    server.kill9();
    let (ok, _, err) = rotate_cli(
        &dir,
        &["--verify-only"],
        &[("FRANKING_SERVER_KEY", &stranger)],
    );
    assert!(!ok, "{err}");
}
