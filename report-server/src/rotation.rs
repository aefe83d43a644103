//! Server-key rotation: re-seal every value of every [`SEALED_COLUMNS`] column under a new server
//! key, online and resumably, then verify that everything opens under the new key alone.
//!
//! The process (`report-server rotate-server-key`, docs/operations.md has the production
//! procedure):
//! 1. Every instance runs with the new key as `FRANKING_SERVER_KEY` and the old one as
//!    `FRANKING_PREVIOUS_SERVER_KEY`: it seals under the new key and opens values under whichever
//!    key their key id names ([`crate::seal`]), so reading never stops.
//! 2. [`rotate`] walks each column in primary-key order, in batches. A batch is one [`Change`]
//!    (audited `server_key.reseal`): every value not yet under the new key is opened and sealed
//!    again under it, written with a compare-and-set on the old value (a row that an instance
//!    changed meanwhile is already under the new key and is left alone). The key-check row goes
//!    first, so an instance started with only the old key refuses to start once a rotation began.
//! 3. A crash (kill -9) loses at most the open batch; running the command again resumes — values
//!    already under the new key are skipped. Progress is kept in `server_key_rotations`.
//! 4. [`verify`] opens every value with the new key alone (no previous key) and checks its key id;
//!    only then is the rotation recorded as finished (audited `server_key.rotate`), and the
//!    previous key may be removed from the instances.

use sqlx::{AnyConnection, AnyPool};

use crate::attachments::{self, StoredAttachment};
use crate::audit::AuditEntry;
use crate::change::Change;
use crate::error::ApiError;
use crate::seal::{self, KeyId, SEALED_COLUMNS, SealedColumn, ServerKey};
use crate::util::now_ms;

/// The audit actor of rotation batches.
pub const ACTOR: &str = "system:rotate-server-key";

/// How a rotation runs.
#[derive(Debug, Clone)]
pub struct RotateOptions {
    /// Rows per batch (one transaction each).
    pub batch_size: u32,
    /// Stop (as if killed) after this many committed batches: for crash tests only.
    pub stop_after_batches: Option<u64>,
}

impl Default for RotateOptions {
    fn default() -> Self {
        Self {
            batch_size: 200,
            stop_after_batches: None,
        }
    }
}

/// What one column holds, after a rotation or a verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ColumnReport {
    /// `table.column`.
    pub column: String,
    /// Values examined.
    pub values: u64,
    /// Values re-sealed by this run (rotation) — 0 for a verification.
    pub resealed: u64,
}

impl ColumnReport {
    fn empty(col: &SealedColumn) -> Self {
        Self {
            column: format!("{}.{}", col.table, col.column),
            values: 0,
            resealed: 0,
        }
    }
}

/// The outcome of [`rotate`] or [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RotationReport {
    /// The new key's id (hex).
    pub key_id: String,
    /// Per column.
    pub columns: Vec<ColumnReport>,
    /// False when an injected stop ended the run early (resume by running again).
    pub complete: bool,
}

/// One sealed value and how to find and bind it: `k1`/`k2` are its row's key, `context` the
/// seal's row binding.
struct SealedValue {
    k1: String,
    k2: i64,
    sealed: String,
    context: Vec<u8>,
}

/// Re-seal every sealed value under `key` (whose previous key must be the old key), then verify.
/// Refuses (config error) without a previous key, or when neither key opens the database's key
/// check.
pub async fn rotate(
    db: &AnyPool,
    key: &ServerKey,
    opts: &RotateOptions,
) -> Result<RotationReport, ApiError> {
    let Some(previous) = key.previous_id() else {
        return Err(ApiError::Config(
            "rotate-server-key needs the key being replaced in FRANKING_PREVIOUS_SERVER_KEY \
             (and the new key in FRANKING_SERVER_KEY)"
                .into(),
        ));
    };
    crate::bootstrap::check_server_key(db, key).await?;
    start(db, key.id(), previous).await?;
    let mut batches = 0u64;
    let mut columns = Vec::new();
    for col in SEALED_COLUMNS {
        let mut report = ColumnReport::empty(col);
        let mut after: Option<(String, i64)> = None;
        loop {
            if opts.stop_after_batches.is_some_and(|n| batches >= n) {
                columns.push(report);
                return Ok(RotationReport {
                    key_id: key.id().to_string(),
                    columns,
                    complete: false,
                });
            }
            let mut change = Change::begin(db, ACTOR).await?;
            let rows = fetch(change.conn(), col, after.as_ref(), opts.batch_size).await?;
            let Some(last) = rows.last() else {
                change.rollback().await?;
                break;
            };
            after = Some((last.k1.clone(), last.k2));
            let n = reseal_batch(change.conn(), key, col, &rows).await?;
            report.values += rows.len() as u64;
            report.resealed += n;
            if n == 0 {
                change.rollback().await?;
                continue;
            }
            record_progress(change.conn(), key.id(), n).await?;
            let entry = AuditEntry::new("server_key.reseal", key.id().to_string())
                .details(serde_json::json!({"column": report.column, "values": n}));
            change.commit(entry).await?;
            batches += 1;
        }
        columns.push(report);
    }
    let verified = verify(db, &key.without_previous()).await?;
    finish(db, key.id(), &verified).await?;
    Ok(RotationReport {
        complete: true,
        ..verified
    })
}

/// Open every sealed value with `key` (use it without a previous key) and check that each names
/// `key`'s id. Config error naming the first value that does not.
pub async fn verify(db: &AnyPool, key: &ServerKey) -> Result<RotationReport, ApiError> {
    let mut conn = db.acquire().await?;
    let mut columns = Vec::new();
    for col in SEALED_COLUMNS {
        let mut report = ColumnReport::empty(col);
        let mut after: Option<(String, i64)> = None;
        loop {
            let rows = fetch(&mut conn, col, after.as_ref(), 500).await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = Some((last.k1.clone(), last.k2));
            for v in &rows {
                let named = seal::sealed_key_id(&v.sealed);
                let opens = seal::open(key, col.purpose, &v.context, &v.sealed).is_ok();
                if named != Some(key.id()) || !opens {
                    return Err(ApiError::Config(format!(
                        "{} of row ({}, {}) does not open under server key {} (sealed under {})",
                        report.column,
                        v.k1,
                        v.k2,
                        key.id(),
                        named.map_or_else(|| "a key without id".to_owned(), |k| k.to_string())
                    )));
                }
            }
            report.values += rows.len() as u64;
        }
        columns.push(report);
    }
    Ok(RotationReport {
        key_id: key.id().to_string(),
        columns,
        complete: true,
    })
}

/// Re-seal the values of `rows` not yet under the current key; returns how many were written.
async fn reseal_batch(
    conn: &mut AnyConnection,
    key: &ServerKey,
    col: &SealedColumn,
    rows: &[SealedValue],
) -> Result<u64, ApiError> {
    let mut written = 0;
    for v in rows {
        if seal::sealed_key_id(&v.sealed) == Some(key.id()) {
            continue;
        }
        let plain = seal::open(key, col.purpose, &v.context, &v.sealed).map_err(|e| {
            ApiError::Config(format!(
                "{}.{} of row ({}, {}): {e}",
                col.table, col.column, v.k1, v.k2
            ))
        })?;
        let resealed = seal::seal(key, col.purpose, &v.context, &plain)?;
        written += update(conn, col, v, &resealed).await?;
    }
    Ok(written)
}

/// The next `limit` sealed values of `col` after row key `after`, in key order.
async fn fetch(
    conn: &mut AnyConnection,
    col: &SealedColumn,
    after: Option<&(String, i64)>,
    limit: u32,
) -> Result<Vec<SealedValue>, ApiError> {
    let (k1, k2) = after.map_or(("", -1), |(a, b)| (a.as_str(), *b));
    let limit = i64::from(limit);
    match (col.table, col.column) {
        ("server_meta", "value") => {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT name, value FROM server_meta WHERE name = 'server_key_check' AND name > $1",
            )
            .bind(k1)
            .fetch_all(conn)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(name, sealed)| SealedValue {
                    k1: name,
                    k2: 0,
                    sealed,
                    context: Vec::new(),
                })
                .collect())
        }
        ("stamping_keys", "secret_sealed") => {
            let sql = "SELECT network_id, key_id, secret_sealed FROM stamping_keys \
                       WHERE network_id > $1 OR (network_id = $1 AND key_id > $2) \
                       ORDER BY network_id, key_id LIMIT $3";
            let rows = after_two_part_key(conn, sql, (k1, k2), limit).await?;
            rows.into_iter()
                .map(|(network, key_id, sealed)| {
                    let id = u32::try_from(key_id)
                        .map_err(|_| ApiError::Internal("stamping key id out of range".into()))?;
                    Ok(SealedValue {
                        context: crate::keys::seal_context(&network, id),
                        k1: network,
                        k2: key_id,
                        sealed,
                    })
                })
                .collect()
        }
        ("evidence", "sealed") => {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT id, COALESCE(sealed_case_id, case_id), sealed FROM evidence WHERE id > $1 AND sealed <> '' \
                 ORDER BY id LIMIT $2",
            )
            .bind(k1)
            .bind(limit)
            .fetch_all(conn)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(id, case_id, sealed)| SealedValue {
                    context: crate::evidence::seal_context(&id, &case_id),
                    k1: id,
                    k2: 0,
                    sealed,
                })
                .collect())
        }
        ("attachment_chunks", "sealed") => {
            let sql = "SELECT attachment_id, seq, sealed FROM attachment_chunks \
                       WHERE attachment_id > $1 OR (attachment_id = $1 AND seq > $2) \
                       ORDER BY attachment_id, seq LIMIT $3";
            let rows = after_two_part_key(&mut *conn, sql, (k1, k2), limit).await?;
            let mut out = Vec::with_capacity(rows.len());
            let mut row: Option<StoredAttachment> = None;
            for (attachment_id, seq, sealed) in rows {
                if row.as_ref().is_none_or(|r| r.id != attachment_id) {
                    row = Some(attachments::load_by_id(&mut *conn, &attachment_id).await?);
                }
                let a = row
                    .as_ref()
                    .ok_or_else(|| ApiError::Internal("attachment row".into()))?;
                let seq_u = u64::try_from(seq)
                    .map_err(|_| ApiError::Internal("negative chunk index".into()))?;
                let is_final = seq + 1 == a.chunk_count;
                out.push(SealedValue {
                    context: attachments::chunk_context(a, seq_u, is_final),
                    k1: attachment_id,
                    k2: seq,
                    sealed,
                });
            }
            Ok(out)
        }
        ("webhook_endpoints", "secret_sealed") => {
            endpoint_values(conn, "secret_sealed", k1, limit).await
        }
        ("webhook_endpoints", "old_secret_sealed") => {
            endpoint_values(conn, "old_secret_sealed", k1, limit).await
        }
        (table, column) => Err(ApiError::Internal(format!(
            "server-key rotation does not know how to read {table}.{column}"
        ))),
    }
}

/// `(k1, k2, sealed)` rows of `sql`, a keyset query over a (TEXT, BIGINT) key taking the key to
/// start after as `$1`, `$2` and the limit as `$3`.
async fn after_two_part_key(
    conn: &mut AnyConnection,
    sql: &'static str,
    (k1, k2): (&str, i64),
    limit: i64,
) -> Result<Vec<(String, i64, String)>, ApiError> {
    Ok(sqlx::query_as(sql)
        .bind(k1)
        .bind(k2)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

async fn endpoint_values(
    conn: &mut AnyConnection,
    column: &'static str,
    after: &str,
    limit: i64,
) -> Result<Vec<SealedValue>, ApiError> {
    let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, {column} FROM webhook_endpoints WHERE id > $1 AND {column} IS NOT NULL \
         ORDER BY id LIMIT $2"
    )))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, sealed)| SealedValue {
            context: id.as_bytes().to_vec(),
            k1: id,
            k2: 0,
            sealed,
        })
        .collect())
}

/// Write `resealed` over `v` if the row still holds `v`'s old value; 1 if written, else 0.
async fn update(
    conn: &mut AnyConnection,
    col: &SealedColumn,
    v: &SealedValue,
    resealed: &str,
) -> Result<u64, ApiError> {
    let sql = match (col.table, col.column) {
        ("server_meta", "value") => {
            "UPDATE server_meta SET value = $1 WHERE name = $2 AND value = $3"
        }
        ("stamping_keys", "secret_sealed") => {
            "UPDATE stamping_keys SET secret_sealed = $1 \
             WHERE network_id = $2 AND secret_sealed = $3 AND key_id = $4"
        }
        ("evidence", "sealed") => "UPDATE evidence SET sealed = $1 WHERE id = $2 AND sealed = $3",
        ("attachment_chunks", "sealed") => {
            "UPDATE attachment_chunks SET sealed = $1 \
             WHERE attachment_id = $2 AND sealed = $3 AND seq = $4"
        }
        ("webhook_endpoints", "secret_sealed") => {
            "UPDATE webhook_endpoints SET secret_sealed = $1 WHERE id = $2 AND secret_sealed = $3"
        }
        ("webhook_endpoints", "old_secret_sealed") => {
            "UPDATE webhook_endpoints SET old_secret_sealed = $1 \
             WHERE id = $2 AND old_secret_sealed = $3"
        }
        (table, column) => {
            return Err(ApiError::Internal(format!(
                "server-key rotation does not know how to write {table}.{column}"
            )));
        }
    };
    let mut q = sqlx::query(sql).bind(resealed).bind(&v.k1).bind(&v.sealed);
    if sql.contains("$4") {
        q = q.bind(v.k2);
    }
    Ok(q.execute(conn).await?.rows_affected())
}

/// Record the start of a rotation to `new` (idempotent: a resumed run keeps the first start).
async fn start(db: &AnyPool, new: KeyId, previous: KeyId) -> Result<(), ApiError> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO server_key_rotations \
         (new_key_id, previous_key_id, started_at, updated_at, resealed) VALUES ($1, $2, $3, $3, 0) \
         ON CONFLICT (new_key_id) DO NOTHING",
    )
    .bind(new.to_string())
    .bind(previous.to_string())
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

async fn record_progress(conn: &mut AnyConnection, new: KeyId, n: u64) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE server_key_rotations SET resealed = resealed + $1, updated_at = $2 \
         WHERE new_key_id = $3",
    )
    .bind(i64::try_from(n).unwrap_or(i64::MAX))
    .bind(now_ms())
    .bind(new.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Record the verified end of the rotation (audited `server_key.rotate`).
async fn finish(db: &AnyPool, new: KeyId, verified: &RotationReport) -> Result<(), ApiError> {
    let mut change = Change::begin(db, ACTOR).await?;
    let now = now_ms();
    sqlx::query(
        "UPDATE server_key_rotations SET finished_at = COALESCE(finished_at, $1), updated_at = $1 \
         WHERE new_key_id = $2",
    )
    .bind(now)
    .bind(new.to_string())
    .execute(change.conn())
    .await?;
    let values: u64 = verified.columns.iter().map(|c| c.values).sum();
    change
        .commit(
            AuditEntry::new("server_key.rotate", new.to_string())
                .details(serde_json::json!({"verified_values": values})),
        )
        .await
}

/// The columns named `sealed` or `*_sealed` (and `server_meta.value`) that `migrations_sql` creates, as
/// `table.column`: what [`SEALED_COLUMNS`] must cover (checked by `tests/rotation.rs`).
pub fn sealed_columns_in(migrations_sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut table = String::new();
    for line in migrations_sql.lines() {
        let l = line.trim();
        let words: Vec<&str> = l.split_whitespace().collect();
        match words.as_slice() {
            ["CREATE", "TABLE", name, ..] => table = name.trim_end_matches('(').to_owned(),
            ["ALTER", "TABLE", name, "ADD", "COLUMN", col, ..] if is_sealed_name(col) => {
                out.push(format!("{name}.{col}"));
            }
            [col, ..] if !table.is_empty() && is_sealed_name(col) => {
                out.push(format!("{table}.{col}"));
            }
            [")" | ");", ..] => table.clear(),
            _ => {}
        }
    }
    out.push("server_meta.value".into());
    out.sort();
    out.dedup();
    out
}

fn is_sealed_name(column: &str) -> bool {
    column == "sealed" || column.ends_with("_sealed")
}
