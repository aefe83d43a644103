//! The append-only audit log (`audit_log` table): who did what to which object, when.
//!
//! Entries are written only through [`crate::change::Change::commit`], in the transaction of the
//! change they describe, each linked into its tamper-evident hash chain ([`crate::audit_chain`]).
//! This module holds the entry type, the insert and the readers.

use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};

use crate::audit_chain::{self, Entry};
use crate::error::ApiError;
use crate::page::{Keyset, PageRequest};
use crate::util::{new_id, now_ms};
use crate::writes::Writes;

/// An audit entry to write: the action, its target object, the network it concerns and details.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    action: &'static str,
    target: String,
    network: Option<String>,
    details: serde_json::Value,
}

impl AuditEntry {
    /// An entry for `action` (e.g. `case.resolve`) on `target` (e.g. `case:<id>`), no details.
    pub fn new(action: &'static str, target: impl Into<String>) -> Self {
        Self {
            action,
            target: target.into(),
            network: None,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// The network the entry concerns.
    pub fn network(mut self, network: Option<&str>) -> Self {
        self.network = network.map(str::to_owned);
        self
    }

    /// The details object (request values, never secrets).
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Append `entries` (each with its actor) on `conn` (the change's transaction; see
/// [`crate::change::Change`]), in order, linked into their hash chains
/// ([`crate::audit_chain::link_all`], which locks the chains' heads now): the inserts and the
/// new heads are added to `writes`.
pub(crate) async fn append_all(
    conn: &mut AnyConnection,
    entries: &[(String, AuditEntry)],
    writes: &mut Writes,
) -> Result<(), ApiError> {
    let at = now_ms();
    let rows = entries
        .iter()
        .map(|(actor, entry)| {
            Ok(Entry {
                id: new_id("aud")?,
                at,
                actor: actor.clone(),
                action: entry.action.to_owned(),
                target: entry.target.clone(),
                network_id: entry.network.clone(),
                details: entry.details.to_string(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let links = audit_chain::link_all(&mut *conn, &rows, writes).await?;
    let linked: Vec<(Entry, audit_chain::Link)> = rows.into_iter().zip(links).collect();
    const COLUMNS: &str =
        "id, at, actor, action, target, network_id, details, chain, seq, prev_hash, hash";
    for chunk in crate::db::padded_chunks(&linked) {
        let mut b = writes.push(&format!(
            "{} INSERT INTO audit_log ({COLUMNS}) SELECT {COLUMNS} FROM v WHERE keep = 1",
            chunk.with_rows(COLUMNS, 1)
        ));
        for ((e, link), keep) in chunk.slots() {
            b.bind(&e.id)
                .bind(e.at)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.target)
                .bind(&e.network_id)
                .bind(&e.details)
                .bind(&link.chain)
                .bind(link.seq)
                .bind(&link.prev_hash)
                .bind(&link.hash)
                .bind(keep);
        }
    }
    Ok(())
}

/// A stored audit entry.
#[derive(Debug, Clone, sqlx::FromRow)]
struct AuditRow {
    id: String,
    at: i64,
    actor: String,
    action: String,
    target: String,
    network_id: Option<String>,
    details: String,
}

/// An audit entry as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    /// What was done, e.g. `case.resolve`.
    pub action: String,
    /// Who did it, e.g. `moderator:alice@net1`.
    pub actor: String,
    /// When (ms since the epoch).
    pub at: i64,
    /// The details object (a string if the stored text is not JSON).
    pub details: serde_json::Value,
    /// Entry id.
    pub id: String,
    /// The network concerned, if any.
    pub network: Option<String>,
    /// The object acted on, e.g. `case:<id>`.
    pub target: String,
}

impl From<AuditRow> for AuditView {
    fn from(r: AuditRow) -> Self {
        let details = match serde_json::from_str(&r.details) {
            Ok(v) => v,
            Err(_) => serde_json::Value::String(r.details),
        };
        Self {
            action: r.action,
            actor: r.actor,
            at: r.at,
            details,
            id: r.id,
            network: r.network_id,
            target: r.target,
        }
    }
}

impl Keyset for AuditView {
    fn keyset(&self) -> (i64, &str) {
        (self.at, &self.id)
    }
}

/// Every entry about `target`, oldest first.
pub async fn for_target(db: &AnyPool, target: &str) -> Result<Vec<AuditView>, ApiError> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, actor, action, target, network_id, details FROM audit_log \
         WHERE target = $1 ORDER BY at, id",
    )
    .bind(target)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(AuditView::from).collect())
}

/// Filter of the audit-log reader (`GET /v1/admin/audit`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Only entries of this network.
    #[serde(default)]
    pub network: Option<String>,
    /// Only entries with this action (e.g. `case.resolve`).
    #[serde(default)]
    pub action: Option<String>,
    /// Only entries at or after this time (ms).
    #[serde(default)]
    pub from: Option<i64>,
    /// Only entries before this time (ms).
    #[serde(default)]
    pub to: Option<i64>,
    /// Page size (1..=200, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One page of entries matching `f`, newest first, and the next page's cursor.
pub async fn search(
    db: &AnyPool,
    f: AuditFilter,
    page: &PageRequest,
) -> Result<(Vec<AuditView>, Option<String>), ApiError> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, actor, action, target, network_id, details FROM audit_log \
         WHERE ($1 IS NULL OR network_id = $1) AND ($2 IS NULL OR action = $2) \
           AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4) \
           AND ($5 IS NULL OR at < $5 OR (at = $5 AND id < $6)) \
         ORDER BY at DESC, id DESC LIMIT $7",
    )
    .bind(f.network)
    .bind(f.action)
    .bind(f.from)
    .bind(f.to)
    .bind(page.after_time())
    .bind(page.after_id())
    .bind(page.fetch_limit())
    .fetch_all(db)
    .await?;
    Ok(page.page(rows.into_iter().map(AuditView::from).collect()))
}
