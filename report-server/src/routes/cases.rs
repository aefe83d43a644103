//! Moderation workflow: the case queue, case view with decrypted evidence, assignment, resolution,
//! dismissal, reopening, notes, the audit log and the evidence-retention trigger.
//!
//! | method | path | who | what |
//! |---|---|---|---|
//! | GET | `/v1/cases` | moderator, admin | list/filter, `sort=newest\|oldest\|most_reported`, keyset cursor |
//! | GET | `/v1/cases/counts` | moderator, admin | cases per state under the same filters |
//! | GET | `/v1/cases/{id}` | moderator, admin | case, reports, decrypted evidence |
//! | POST | `/v1/cases/{id}/assign` | moderator, admin | `{assignee?}` (moderator: default self) |
//! | POST | `/v1/cases/{id}/resolve` | moderator, admin | `{action, note?}` |
//! | POST | `/v1/cases/{id}/dismiss` | moderator, admin | `{reason?}` |
//! | POST | `/v1/cases/{id}/reopen` | moderator, admin | `{reason?}` |
//! | GET/POST | `/v1/cases/{id}/notes` | moderator, admin | list / add `{body}` |
//! | GET | `/v1/cases/{id}/audit` | moderator, admin | the case's audit entries |
//! | GET | `/v1/admin/audit` | admin | the audit log (all, or `?network=`) |
//! | POST | `/v1/admin/retention/run` | admin | purge expired evidence now |
//!
//! Moderators only see their own network's cases: any other case is 404 `not_found`, exactly as
//! if it did not exist. Admins see every network.
//!
//! State machine (anything else is 409 `invalid_transition`):
//!
//! ```text
//! open ──assign──▶ assigned ──assign──▶ assigned (reassign)
//! open | assigned ──resolve(action)──▶ resolved
//! open | assigned ──dismiss──▶ dismissed
//! resolved | dismissed ──reopen──▶ open   (assignee and resolution cleared)
//! ```
//!
//! Every transition is a conditional `UPDATE ... WHERE state = <the state we checked>` in one
//! transaction with its audit entry, so concurrent moderators (on any instance) cannot both win:
//! the loser gets 409 `invalid_transition`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use franking_core::frank::{Report, ReportedMessage};
use serde_json::{Value, json};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::audit;
use crate::auth::{AdminAuth, Caller, Role, authenticate};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::retention;
use crate::routes::reports::{EVIDENCE_SEAL_PURPOSE, evidence_seal_context};
use crate::seal;
use crate::state::AppState;
use crate::util::{b64, new_id, now_ms};

/// The resolution actions a case can be resolved with.
///
/// * `remove_content` — the platform removes the reported message.
/// * `warn_sender` — the sender receives a warning.
/// * `suspend_sender` — the sender's account is suspended temporarily.
/// * `ban_sender` — the sender's account is banned.
/// * `no_violation` — reviewed; the content does not break the rules (compare *dismiss*, which
///   closes a case without a review outcome, e.g. a duplicate or unactionable report).
pub const RESOLUTION_ACTIONS: &[&str] = &[
    "remove_content",
    "warn_sender",
    "suspend_sender",
    "ban_sender",
    "no_violation",
];

/// The case states.
pub const CASE_STATES: &[&str] = &["open", "assigned", "resolved", "dismissed"];

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size of list endpoints.
pub const MAX_LIMIT: u32 = 200;
/// Longest note body in bytes.
pub const MAX_NOTE_LEN: usize = 10_000;
/// Longest reason (dismiss/reopen) or assignee in bytes.
pub const MAX_REASON_LEN: usize = 4096;

/// The moderation routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/cases", get(list_cases))
        .route("/v1/cases/counts", get(case_counts))
        .route("/v1/cases/{id}", get(get_case))
        .route("/v1/cases/{id}/assign", post(assign))
        .route("/v1/cases/{id}/resolve", post(resolve))
        .route("/v1/cases/{id}/dismiss", post(dismiss))
        .route("/v1/cases/{id}/reopen", post(reopen))
        .route("/v1/cases/{id}/notes", get(list_notes).post(add_note))
        .route("/v1/cases/{id}/audit", get(case_audit))
        .route("/v1/admin/audit", get(admin_audit))
        .route("/v1/admin/retention/run", post(run_retention))
}

/// A moderator (scoped to one network) or an admin (every network).
#[derive(Debug, Clone)]
pub struct Staff {
    /// The authenticated caller.
    pub caller: Caller,
    /// `Some(network)` for a moderator, `None` for an admin.
    pub scope: Option<String>,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = authenticate(parts, state).await?;
        match caller.role {
            Role::Admin => Ok(Self {
                caller,
                scope: None,
            }),
            Role::Moderator => {
                let scope = caller
                    .network
                    .clone()
                    .ok_or_else(|| ApiError::Internal("moderator token without network".into()))?;
                Ok(Self {
                    caller,
                    scope: Some(scope),
                })
            }
            Role::Relay | Role::Service => Err(ApiError::forbidden(
                "this endpoint needs a moderator or admin token",
            )),
        }
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_parameter", message)
}

fn query_error(e: QueryRejection) -> ApiError {
    invalid(e.body_text())
}

/// An optional JSON body: empty (or whitespace) means the type's default.
fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::malformed(format!("body: {e}")))
}

fn check_text(what: &str, s: &str, max: usize) -> Result<(), ApiError> {
    if s.trim().is_empty() || s.len() > max || s.contains('\0') {
        return Err(invalid(format!(
            "{what} must be 1..={max} bytes, not blank, without NUL"
        )));
    }
    Ok(())
}

fn check_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(invalid(format!("limit must be 1..={MAX_LIMIT}")));
    }
    Ok(limit)
}

fn check_range(from: Option<i64>, to: Option<i64>) -> Result<(), ApiError> {
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(invalid("from must not be after to"));
    }
    Ok(())
}

/// Opaque keyset cursor: base64url(`<ms>.<id>`) of the last item of the previous page.
fn encode_cursor(ts: i64, id: &str) -> String {
    encode_tagged_cursor("", ts, id)
}

fn decode_cursor(c: &str) -> Result<(i64, String), ApiError> {
    decode_tagged_cursor("", c)
}

/// Keyset cursor of one sort order: base64url(`<tag><key>.<id>`); a cursor of another order (another
/// tag) does not parse.
fn encode_tagged_cursor(tag: &str, key: i64, id: &str) -> String {
    b64(format!("{tag}{key}.{id}").as_bytes())
}

fn decode_tagged_cursor(tag: &str, c: &str) -> Result<(i64, String), ApiError> {
    let bad = || ApiError::bad_request("invalid_cursor", "cursor is not one this server issued");
    let raw = URL_SAFE_NO_PAD.decode(c.as_bytes()).map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    let s = s.strip_prefix(tag).ok_or_else(bad)?;
    let (ts, id) = s.split_once('.').ok_or_else(bad)?;
    let ts: i64 = ts.parse().map_err(|_| bad())?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((ts, id.to_owned()))
}

const CASE_COLUMNS: &str = "id, network_id, state, category, report_count, sender, message_id, \
     message_ts, key_id, commitment, stamp, first_reported_at, last_reported_at, assignee, \
     resolution_action, resolved_at, updated_at";

fn case_json(r: &AnyRow) -> Result<Value, ApiError> {
    Ok(json!({
        "id": r.try_get::<String, _>("id")?,
        "network": r.try_get::<String, _>("network_id")?,
        "state": r.try_get::<String, _>("state")?,
        "category": r.try_get::<Option<String>, _>("category")?,
        "report_count": r.try_get::<i64, _>("report_count")?,
        "sender": r.try_get::<String, _>("sender")?,
        "message_id": r.try_get::<String, _>("message_id")?,
        "message_ts": r.try_get::<i64, _>("message_ts")?,
        "key_id": r.try_get::<i64, _>("key_id")?,
        "commitment": r.try_get::<String, _>("commitment")?,
        "stamp": r.try_get::<String, _>("stamp")?,
        "first_reported_at": r.try_get::<i64, _>("first_reported_at")?,
        "last_reported_at": r.try_get::<i64, _>("last_reported_at")?,
        "assignee": r.try_get::<Option<String>, _>("assignee")?,
        "resolution_action": r.try_get::<Option<String>, _>("resolution_action")?,
        "closed_at": r.try_get::<Option<i64>, _>("resolved_at")?,
        "updated_at": r.try_get::<i64, _>("updated_at")?,
    }))
}

/// A case as loaded for an authorised caller.
struct CaseRow {
    network: String,
    state: String,
}

/// Load a case the caller may see; another network's case is 404, like a missing one.
async fn load_case(state: &AppState, staff: &Staff, id: &str) -> Result<CaseRow, ApiError> {
    let row = sqlx::query("SELECT network_id, state FROM cases WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(ApiError::NotFound("case"))?;
    let network: String = row.try_get("network_id")?;
    if staff.scope.as_deref().is_some_and(|s| s != network) {
        return Err(ApiError::NotFound("case"));
    }
    Ok(CaseRow {
        network,
        state: row.try_get("state")?,
    })
}

async fn case_value(state: &AppState, id: &str) -> Result<Value, ApiError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(ApiError::NotFound("case"))?;
    case_json(&row)
}

/// `GET /v1/cases` query.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFilter {
    /// Only cases in this state.
    #[serde(default)]
    pub state: Option<String>,
    /// Only cases of this category.
    #[serde(default)]
    pub category: Option<String>,
    /// Only cases of this network (moderators: their own network only).
    #[serde(default)]
    pub network: Option<String>,
    /// Only cases first reported at or after this time (ms since the epoch).
    #[serde(default)]
    pub from: Option<i64>,
    /// Only cases first reported before this time (ms since the epoch).
    #[serde(default)]
    pub to: Option<i64>,
    /// Only cases assigned to this moderator (token subject).
    #[serde(default)]
    pub assignee: Option<String>,
    /// Order of the list (default `newest`).
    #[serde(default)]
    pub sort: CaseSort,
    /// Page size (1..=200, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (of the same `sort`).
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Order of `GET /v1/cases`; each is keyset-paginated on (its key, id).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSort {
    /// Latest first report first.
    #[default]
    Newest,
    /// Earliest first report first (first in, first out).
    Oldest,
    /// Most distinct reporters first.
    MostReported,
}

impl CaseSort {
    /// (key column, cursor tag, `ORDER BY`, the "after the cursor" condition on `$c`, `$i`).
    fn sql(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            CaseSort::Newest => (
                "first_reported_at",
                "",
                "first_reported_at DESC, id DESC",
                "first_reported_at < $c OR (first_reported_at = $c AND id < $i)",
            ),
            CaseSort::Oldest => (
                "first_reported_at",
                "o",
                "first_reported_at ASC, id ASC",
                "first_reported_at > $c OR (first_reported_at = $c AND id > $i)",
            ),
            CaseSort::MostReported => (
                "report_count",
                "n",
                "report_count DESC, id DESC",
                "report_count < $c OR (report_count = $c AND id < $i)",
            ),
        }
    }
}

/// The filters `GET /v1/cases` and `GET /v1/cases/counts` share, checked; `$1..=$5` of
/// [`FILTER_SQL`].
struct SharedFilter {
    network: Option<String>,
    category: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    assignee: Option<String>,
}

/// The WHERE condition of [`SharedFilter`] (binds `$1..=$5` in field order).
const FILTER_SQL: &str = "($1 IS NULL OR network_id = $1) AND ($2 IS NULL OR category = $2) \
     AND ($3 IS NULL OR first_reported_at >= $3) AND ($4 IS NULL OR first_reported_at < $4) \
     AND ($5 IS NULL OR assignee = $5)";

impl SharedFilter {
    /// Check the values; a moderator is confined to their network (another one: 403
    /// `wrong_network`).
    fn new(
        staff: &Staff,
        network: Option<String>,
        category: Option<String>,
        from: Option<i64>,
        to: Option<i64>,
        assignee: Option<String>,
    ) -> Result<Self, ApiError> {
        check_range(from, to)?;
        let network = match (&staff.scope, network) {
            (Some(own), Some(asked)) if *own != asked => {
                return Err(ApiError::Forbidden {
                    code: "wrong_network",
                    message: "moderators can only list their own network's cases".into(),
                });
            }
            (Some(own), _) => Some(own.clone()),
            (None, asked) => asked,
        };
        Ok(Self {
            network,
            category,
            from,
            to,
            assignee,
        })
    }

    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        q.bind(self.network)
            .bind(self.category)
            .bind(self.from)
            .bind(self.to)
            .bind(self.assignee)
    }
}

async fn list_cases(
    State(state): State<AppState>,
    staff: Staff,
    query: Result<Query<CaseFilter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(f) = query.map_err(query_error)?;
    let limit = check_limit(f.limit)?;
    if let Some(s) = &f.state
        && !CASE_STATES.contains(&s.as_str())
    {
        return Err(invalid(format!("state must be one of {CASE_STATES:?}")));
    }
    let filter = SharedFilter::new(&staff, f.network, f.category, f.from, f.to, f.assignee)?;
    let (key, tag, order, after) = f.sort.sql();
    let (cur_key, cur_id) = match &f.cursor {
        Some(c) => {
            let (k, i) = decode_tagged_cursor(tag, c)?;
            (Some(k), Some(i))
        }
        None => (None, None),
    };
    let after = after.replace("$c", "$7").replace("$i", "$8");
    let rows = filter
        .bind(sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE {FILTER_SQL} \
               AND ($6 IS NULL OR state = $6) AND ($7 IS NULL OR {after}) \
             ORDER BY {order} LIMIT $9"
        ))))
        .bind(f.state)
        .bind(cur_key)
        .bind(cur_id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&state.db)
        .await?;
    let more = rows.len() > limit as usize;
    let page = &rows[..rows.len().min(limit as usize)];
    let next_cursor = match (more, page.last()) {
        (true, Some(last)) => Some(encode_tagged_cursor(
            tag,
            last.try_get(key)?,
            &last.try_get::<String, _>("id")?,
        )),
        _ => None,
    };
    let cases = page.iter().map(case_json).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "cases": cases, "next_cursor": next_cursor })))
}

/// `GET /v1/cases/counts` query: the filters of `GET /v1/cases` except state, order and paging.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountFilter {
    /// Only cases of this category.
    #[serde(default)]
    pub category: Option<String>,
    /// Only cases of this network (moderators: their own network only).
    #[serde(default)]
    pub network: Option<String>,
    /// Only cases first reported at or after this time (ms since the epoch).
    #[serde(default)]
    pub from: Option<i64>,
    /// Only cases first reported before this time (ms since the epoch).
    #[serde(default)]
    pub to: Option<i64>,
    /// Only cases assigned to this moderator (token subject).
    #[serde(default)]
    pub assignee: Option<String>,
}

async fn case_counts(
    State(state): State<AppState>,
    staff: Staff,
    query: Result<Query<CountFilter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(f) = query.map_err(query_error)?;
    let filter = SharedFilter::new(&staff, f.network, f.category, f.from, f.to, f.assignee)?;
    let rows = filter
        .bind(sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT state, COUNT(*) AS n FROM cases WHERE {FILTER_SQL} GROUP BY state"
        ))))
        .fetch_all(&state.db)
        .await?;
    let mut counts = serde_json::Map::new();
    for s in CASE_STATES {
        counts.insert((*s).to_owned(), json!(0));
    }
    let mut total = 0i64;
    for r in &rows {
        let n: i64 = r.try_get("n")?;
        total += n;
        counts.insert(r.try_get::<String, _>("state")?, json!(n));
    }
    Ok(Json(json!({ "counts": counts, "total": total })))
}

fn message_json(m: &ReportedMessage) -> Result<Value, ApiError> {
    let enc = |e: serde_json::Error| ApiError::Internal(format!("evidence encoding: {e}"));
    Ok(json!({
        "suite": serde_json::to_value(m.suite).map_err(enc)?,
        "plaintext_b64": b64(&m.plaintext),
        "plaintext_utf8": std::str::from_utf8(&m.plaintext).ok(),
        "associated_data_b64": b64(&m.associated_data),
        "commitment": serde_json::to_value(m.commitment).map_err(enc)?,
        "context": serde_json::to_value(&m.context).map_err(enc)?,
        "stamp": serde_json::to_value(&m.stamp).map_err(enc)?,
    }))
}

/// Decrypt one evidence row into its moderator view (the franking key itself is not shown).
fn evidence_json(state: &AppState, case_id: &str, r: &AnyRow) -> Result<Value, ApiError> {
    let id: String = r.try_get("id")?;
    let purged_at: Option<i64> = r.try_get("purged_at")?;
    let mut v = json!({
        "id": id,
        "report_id": r.try_get::<Option<String>, _>("report_id")?,
        "created_at": r.try_get::<i64, _>("created_at")?,
        "purged_at": purged_at,
        "verified": true,
        "content": null,
    });
    if purged_at.is_some() {
        return Ok(v);
    }
    let sealed: String = r.try_get("sealed")?;
    let plain = seal::open(
        &state.server_key,
        EVIDENCE_SEAL_PURPOSE,
        &evidence_seal_context(&id, case_id),
        &sealed,
    )?;
    let rep: Report = serde_json::from_slice(&plain)
        .map_err(|e| ApiError::Internal(format!("stored evidence does not parse: {e}")))?;
    let earlier = rep
        .earlier
        .iter()
        .map(message_json)
        .collect::<Result<Vec<_>, _>>()?;
    v["content"] = json!({
        "reporter": rep.reporter,
        "reason": rep.reason,
        "message": message_json(&rep.message)?,
        "earlier": earlier,
    });
    Ok(v)
}

async fn get_case(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    load_case(&state, &staff, &id).await?;
    let mut case = case_value(&state, &id).await?;
    let reports = sqlx::query(
        "SELECT id, reporter, reason, category, earlier_count, received_at FROM reports \
         WHERE case_id = $1 ORDER BY received_at, id",
    )
    .bind(&id)
    .fetch_all(&state.db)
    .await?
    .iter()
    .map(|r| {
        Ok(json!({
            "id": r.try_get::<String, _>("id")?,
            "reporter": r.try_get::<String, _>("reporter")?,
            "reason": r.try_get::<String, _>("reason")?,
            "category": r.try_get::<Option<String>, _>("category")?,
            "earlier_count": r.try_get::<i64, _>("earlier_count")?,
            "received_at": r.try_get::<i64, _>("received_at")?,
        }))
    })
    .collect::<Result<Vec<_>, ApiError>>()?;
    let evidence = sqlx::query(
        "SELECT id, report_id, sealed, created_at, purged_at FROM evidence \
         WHERE case_id = $1 ORDER BY created_at, id",
    )
    .bind(&id)
    .fetch_all(&state.db)
    .await?
    .iter()
    .map(|r| evidence_json(&state, &id, r))
    .collect::<Result<Vec<_>, _>>()?;
    let mut reasons = std::collections::BTreeMap::<String, u64>::new();
    for r in &reports {
        if let Some(reason) = r["reason"].as_str() {
            *reasons.entry(reason.to_owned()).or_default() += 1;
        }
    }
    let notes: i64 = sqlx::query("SELECT COUNT(*) AS n FROM notes WHERE case_id = $1")
        .bind(&id)
        .fetch_one(&state.db)
        .await?
        .try_get("n")?;
    case["reporters"] = json!(
        reports
            .iter()
            .map(|r| r["reporter"].clone())
            .collect::<Vec<_>>()
    );
    case["reason_counts"] = json!(reasons);
    case["note_count"] = json!(notes);
    case["reports"] = json!(reports);
    case["evidence"] = json!(evidence);
    Ok(Json(case))
}

/// Apply a transition: `UPDATE cases SET <set> WHERE id = $1 AND state = $2` plus the audit entry
/// (and an optional note), in one transaction. `$3` is the time; `binds` are `$4..` of `set`.
#[allow(clippy::too_many_arguments)]
async fn transition(
    state: &AppState,
    staff: &Staff,
    id: &str,
    case: &CaseRow,
    allowed_from: &[&str],
    verb: &str,
    set: &'static str,
    binds: Vec<Option<String>>,
    details: Value,
    note: Option<&str>,
) -> Result<Json<Value>, ApiError> {
    if !allowed_from.contains(&case.state.as_str()) {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!(
                "cannot {verb} a case in state {:?} (allowed from {allowed_from:?})",
                case.state
            ),
        ));
    }
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let mut q = sqlx::query(set).bind(id).bind(&case.state).bind(now);
    for b in binds {
        q = q.bind(b);
    }
    let n = q.execute(&mut *tx).await?.rows_affected();
    if n == 0 {
        return Err(ApiError::conflict(
            "invalid_transition",
            "the case changed concurrently; reload it and try again",
        ));
    }
    let mut details = details;
    details["from"] = json!(case.state);
    if let Some(body) = note {
        let note_id = write_note(&mut tx, &staff.caller.actor(), id, body, now).await?;
        details["note_id"] = json!(note_id);
    }
    audit::record(
        &mut *tx,
        &staff.caller.actor(),
        &format!("case.{verb}"),
        &format!("case:{id}"),
        Some(&case.network),
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(case_value(state, id).await?))
}

/// `POST /v1/cases/{id}/assign` body.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The moderator (token subject) to assign; default: the calling moderator. Admins must name one.
    #[serde(default)]
    pub assignee: Option<String>,
}

async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let case = load_case(&state, &staff, &id).await?;
    let req: AssignRequest = optional_json(&body)?;
    let assignee = match (req.assignee, &staff.scope) {
        (Some(a), _) => a,
        (None, Some(_)) => staff.caller.subject.clone(),
        (None, None) => return Err(invalid("admins must name the assignee")),
    };
    check_text("assignee", &assignee, MAX_REASON_LEN)?;
    let known = sqlx::query(
        "SELECT id FROM tokens WHERE role = 'moderator' AND network_id = $1 AND subject = $2 \
         AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3) LIMIT 1",
    )
    .bind(&case.network)
    .bind(&assignee)
    .bind(now_ms())
    .fetch_optional(&state.db)
    .await?
    .is_some();
    if !known {
        return Err(ApiError::unprocessable(
            "unknown_assignee",
            "the assignee is not an active moderator of the case's network",
        ));
    }
    transition(
        &state,
        &staff,
        &id,
        &case,
        &["open", "assigned"],
        "assign",
        "UPDATE cases SET state = 'assigned', assignee = $4, updated_at = $3 \
         WHERE id = $1 AND state = $2",
        vec![Some(assignee.clone())],
        json!({ "assignee": assignee }),
        None,
    )
    .await
}

/// `POST /v1/cases/{id}/resolve` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// One of [`RESOLUTION_ACTIONS`].
    pub action: String,
    /// Optional note, stored as a case note in the same transaction (its id is in the audit entry).
    #[serde(default)]
    pub note: Option<String>,
}

async fn resolve(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ResolveRequest>,
) -> Result<Json<Value>, ApiError> {
    let case = load_case(&state, &staff, &id).await?;
    if !RESOLUTION_ACTIONS.contains(&req.action.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_action",
            format!("action must be one of {RESOLUTION_ACTIONS:?}"),
        ));
    }
    if let Some(n) = &req.note {
        check_text("note", n, MAX_NOTE_LEN)?;
    }
    transition(
        &state,
        &staff,
        &id,
        &case,
        &["open", "assigned"],
        "resolve",
        "UPDATE cases SET state = 'resolved', resolution_action = $4, resolved_at = $3, \
         updated_at = $3 WHERE id = $1 AND state = $2",
        vec![Some(req.action.clone())],
        json!({ "action": req.action }),
        req.note.as_deref(),
    )
    .await
}

/// `POST /v1/cases/{id}/dismiss` and `/reopen` body.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Optional reason, recorded in the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

async fn dismiss(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let case = load_case(&state, &staff, &id).await?;
    let req: ReasonRequest = optional_json(&body)?;
    if let Some(r) = &req.reason {
        check_text("reason", r, MAX_REASON_LEN)?;
    }
    transition(
        &state,
        &staff,
        &id,
        &case,
        &["open", "assigned"],
        "dismiss",
        "UPDATE cases SET state = 'dismissed', resolution_action = NULL, resolved_at = $3, \
         updated_at = $3 WHERE id = $1 AND state = $2",
        vec![],
        json!({ "reason": req.reason }),
        None,
    )
    .await
}

async fn reopen(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let case = load_case(&state, &staff, &id).await?;
    let req: ReasonRequest = optional_json(&body)?;
    if let Some(r) = &req.reason {
        check_text("reason", r, MAX_REASON_LEN)?;
    }
    transition(
        &state,
        &staff,
        &id,
        &case,
        &["resolved", "dismissed"],
        "reopen",
        "UPDATE cases SET state = 'open', assignee = NULL, resolution_action = NULL, \
         resolved_at = NULL, updated_at = $3 WHERE id = $1 AND state = $2",
        vec![],
        json!({ "reason": req.reason }),
        None,
    )
    .await
}

/// `POST /v1/cases/{id}/notes` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note text (1..=10000 bytes).
    pub body: String,
}

/// Insert a note row (inside the caller's transaction); returns its id.
async fn write_note(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    author: &str,
    case_id: &str,
    body: &str,
    now: i64,
) -> Result<String, ApiError> {
    let id = new_id("note")?;
    sqlx::query(
        "INSERT INTO notes (id, case_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(case_id)
    .bind(author)
    .bind(body)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

async fn insert_note(
    state: &AppState,
    staff: &Staff,
    case_id: &str,
    network: &str,
    body: &str,
) -> Result<Value, ApiError> {
    let now = now_ms();
    let author = staff.caller.actor();
    let mut tx = state.db.begin().await?;
    let id = write_note(&mut tx, &author, case_id, body, now).await?;
    audit::record(
        &mut *tx,
        &author,
        "case.note",
        &format!("case:{case_id}"),
        Some(network),
        json!({ "note_id": id, "length": body.len() }),
    )
    .await?;
    tx.commit().await?;
    Ok(json!({ "id": id, "case_id": case_id, "author": author, "body": body, "created_at": now }))
}

async fn add_note(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let case = load_case(&state, &staff, &id).await?;
    check_text("body", &req.body, MAX_NOTE_LEN)?;
    let note = insert_note(&state, &staff, &id, &case.network, &req.body).await?;
    Ok((StatusCode::CREATED, Json(note)))
}

async fn list_notes(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    load_case(&state, &staff, &id).await?;
    let notes = sqlx::query(
        "SELECT id, author, body, created_at FROM notes WHERE case_id = $1 \
         ORDER BY created_at, id",
    )
    .bind(&id)
    .fetch_all(&state.db)
    .await?
    .iter()
    .map(|r| {
        Ok(json!({
            "id": r.try_get::<String, _>("id")?,
            "case_id": id,
            "author": r.try_get::<String, _>("author")?,
            "body": r.try_get::<String, _>("body")?,
            "created_at": r.try_get::<i64, _>("created_at")?,
        }))
    })
    .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(json!({ "notes": notes })))
}

fn audit_json(r: &AnyRow) -> Result<Value, ApiError> {
    let details: String = r.try_get("details")?;
    Ok(json!({
        "id": r.try_get::<String, _>("id")?,
        "at": r.try_get::<i64, _>("at")?,
        "actor": r.try_get::<String, _>("actor")?,
        "action": r.try_get::<String, _>("action")?,
        "target": r.try_get::<String, _>("target")?,
        "network": r.try_get::<Option<String>, _>("network_id")?,
        "details": serde_json::from_str::<Value>(&details).unwrap_or(Value::String(details)),
    }))
}

async fn case_audit(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    load_case(&state, &staff, &id).await?;
    let entries = sqlx::query(
        "SELECT id, at, actor, action, target, network_id, details FROM audit_log \
         WHERE target = $1 ORDER BY at, id",
    )
    .bind(format!("case:{id}"))
    .fetch_all(&state.db)
    .await?
    .iter()
    .map(audit_json)
    .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "entries": entries })))
}

/// `GET /v1/admin/audit` query.
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

async fn admin_audit(
    State(state): State<AppState>,
    _admin: AdminAuth,
    query: Result<Query<AuditFilter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(f) = query.map_err(query_error)?;
    let limit = check_limit(f.limit)?;
    check_range(f.from, f.to)?;
    let (cur_ts, cur_id) = match &f.cursor {
        Some(c) => {
            let (t, i) = decode_cursor(c)?;
            (Some(t), Some(i))
        }
        None => (None, None),
    };
    let rows = sqlx::query(
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
    .bind(cur_ts)
    .bind(cur_id)
    .bind(i64::from(limit) + 1)
    .fetch_all(&state.db)
    .await?;
    let more = rows.len() > limit as usize;
    let page = &rows[..rows.len().min(limit as usize)];
    let next_cursor = match (more, page.last()) {
        (true, Some(last)) => Some(encode_cursor(
            last.try_get("at")?,
            &last.try_get::<String, _>("id")?,
        )),
        _ => None,
    };
    let entries = page.iter().map(audit_json).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(
        json!({ "entries": entries, "next_cursor": next_cursor }),
    ))
}

async fn run_retention(
    State(state): State<AppState>,
    admin: AdminAuth,
) -> Result<Json<retention::PurgeOutcome>, ApiError> {
    let out = retention::purge_expired(&state.db, now_ms(), &admin.caller.actor()).await?;
    Ok(Json(out))
}
