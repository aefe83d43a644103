//! Moderation cases: the workflow types ([`CaseState`], [`Resolution`], [`Transition`]), the case
//! row/response type [`Case`], and the queries behind the case endpoints (`routes::cases`).
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
//! [`Transition::apply`] writes the new workflow columns with a conditional
//! `UPDATE ... WHERE state = <the state we checked>` inside a [`Change`] that commits it with its
//! audit entry, so concurrent moderators (on any instance) cannot both win: the loser gets 409
//! `invalid_transition`.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::AnyPool;

use crate::audit::AuditEntry;
use crate::auth::Staff;
use crate::change::Change;
use crate::db::text_enum;
use crate::error::ApiError;
use crate::evidence::{self, EvidenceView};
use crate::notes;
use crate::page::PageRequest;
use crate::seal::ServerKey;
use crate::transparency;
use crate::webhooks::EventType;
use crate::webhooks::outbox::Event;

/// Where a case is in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// New, or reopened; nobody is assigned.
    Open,
    /// A moderator works on it.
    Assigned,
    /// Closed with a [`Resolution`].
    Resolved,
    /// Closed without a review outcome (duplicate, unactionable).
    Dismissed,
}

impl CaseState {
    /// Every state.
    pub const ALL: [CaseState; 4] = [Self::Open, Self::Assigned, Self::Resolved, Self::Dismissed];

    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Assigned => "assigned",
            Self::Resolved => "resolved",
            Self::Dismissed => "dismissed",
        }
    }

    /// Parse a stored (or wire) name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The outcome of a review (`POST /v1/cases/{id}/resolve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The platform removes the reported message.
    RemoveContent,
    /// The sender receives a warning.
    WarnSender,
    /// The sender's account is suspended temporarily.
    SuspendSender,
    /// The sender's account is banned.
    BanSender,
    /// Reviewed; the content does not break the rules (compare *dismiss*, which closes a case
    /// without a review outcome).
    NoViolation,
}

impl Resolution {
    /// Every resolution.
    pub const ALL: [Resolution; 5] = [
        Self::RemoveContent,
        Self::WarnSender,
        Self::SuspendSender,
        Self::BanSender,
        Self::NoViolation,
    ];

    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RemoveContent => "remove_content",
            Self::WarnSender => "warn_sender",
            Self::SuspendSender => "suspend_sender",
            Self::BanSender => "ban_sender",
            Self::NoViolation => "no_violation",
        }
    }

    /// Parse a stored (or wire) name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

text_enum!(CaseState, Resolution);

/// The names of `values`, for error messages (`["open", "assigned"]`).
pub fn names<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> String {
    format!("{:?}", values.iter().map(|v| name(*v)).collect::<Vec<_>>())
}

/// The columns of [`Case`], in every query that loads one.
const CASE_COLUMNS: &str = "id, network_id, state, category, report_count, sender, message_id, \
     message_ts, key_id, commitment, stamp, first_reported_at, last_reported_at, assignee, \
     resolution_action, resolved_at, updated_at";

/// A moderation case: one per reported message (grouped by commitment and stamp). Row and
/// response at once. Fields are in alphabetical order of their JSON names (the order the API has
/// always used).
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Case {
    /// The assigned moderator (token subject).
    pub assignee: Option<String>,
    /// The category of the first report that named one.
    pub category: Option<String>,
    /// When the case was resolved or dismissed (ms).
    #[sqlx(rename = "resolved_at")]
    pub closed_at: Option<i64>,
    /// The message's commitment, base64url.
    pub commitment: String,
    /// First report (ms).
    pub first_reported_at: i64,
    /// Case id.
    pub id: String,
    /// The stamping key that stamped the message.
    pub key_id: i64,
    /// Latest report (ms).
    pub last_reported_at: i64,
    /// The message id from the stamped context.
    pub message_id: String,
    /// The message time from the stamped context (ms).
    pub message_ts: i64,
    /// The network.
    #[sqlx(rename = "network_id")]
    pub network: String,
    /// Distinct reporters.
    pub report_count: i64,
    /// The resolution of a resolved case.
    pub resolution_action: Option<Resolution>,
    /// The sender from the stamped context.
    pub sender: String,
    /// The canonical stamp of the case's first report, base64url (a case is one message; its
    /// other reports may hold other stamps of it).
    pub stamp: String,
    /// Workflow state.
    pub state: CaseState,
    /// Last change (ms).
    pub updated_at: i64,
}

/// Load a case `staff` may see; another network's case is 404, exactly like a missing one.
pub async fn load(db: &AnyPool, staff: &Staff, id: &str) -> Result<Case, ApiError> {
    let case: Case = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(ApiError::NotFound("case"))?;
    if !staff.sees(&case.network) {
        return Err(ApiError::NotFound("case"));
    }
    Ok(case)
}

/// Order of the case queue (`GET /v1/cases?sort=`).
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
    /// The cursor tag of this order (see [`crate::page`]).
    pub fn cursor_tag(self) -> &'static str {
        match self {
            CaseSort::Newest => "",
            CaseSort::Oldest => "o",
            CaseSort::MostReported => "n",
        }
    }

    /// (`ORDER BY`, the "strictly after the cursor" condition on `$7` (key) and `$8` (id)).
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            CaseSort::Newest => (
                "first_reported_at DESC, id DESC",
                "first_reported_at < $7 OR (first_reported_at = $7 AND id < $8)",
            ),
            CaseSort::Oldest => (
                "first_reported_at ASC, id ASC",
                "first_reported_at > $7 OR (first_reported_at = $7 AND id > $8)",
            ),
            CaseSort::MostReported => (
                "report_count DESC, id DESC",
                "report_count < $7 OR (report_count = $7 AND id < $8)",
            ),
        }
    }

    /// A case's position in this order.
    fn key(self, case: &Case) -> (i64, &str) {
        match self {
            CaseSort::Newest | CaseSort::Oldest => (case.first_reported_at, &case.id),
            CaseSort::MostReported => (case.report_count, &case.id),
        }
    }
}

/// Filter of the case queue (`GET /v1/cases`, `GET /v1/cases/counts`), validated.
#[derive(Debug, Default)]
pub struct CaseQuery {
    /// Only this network.
    pub network: Option<String>,
    /// Only this state.
    pub state: Option<CaseState>,
    /// Only this category.
    pub category: Option<String>,
    /// First reported at or after (ms).
    pub from: Option<i64>,
    /// First reported before (ms).
    pub to: Option<i64>,
    /// Only cases assigned to this moderator (token subject).
    pub assignee: Option<String>,
}

/// The filter's conditions on `$1`..`$6`, shared by the queue and the counts.
const FILTER_SQL: &str = "($1 IS NULL OR network_id = $1) AND ($2 IS NULL OR state = $2) \
     AND ($3 IS NULL OR category = $3) \
     AND ($4 IS NULL OR first_reported_at >= $4) AND ($5 IS NULL OR first_reported_at < $5) \
     AND ($6 IS NULL OR assignee = $6)";

impl CaseQuery {
    fn bind<'q, O>(
        self,
        q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
        q.bind(self.network)
            .bind(self.state)
            .bind(self.category)
            .bind(self.from)
            .bind(self.to)
            .bind(self.assignee)
    }
}

/// `GET /v1/cases/counts` response: cases per state under a filter.
#[derive(Debug, Serialize)]
pub struct CaseCounts {
    /// Every state with its number of cases (0 included).
    pub counts: BTreeMap<&'static str, i64>,
    /// All cases under the filter.
    pub total: i64,
}

#[derive(sqlx::FromRow)]
struct StateCount {
    state: CaseState,
    n: i64,
}

/// Cases per state under `q` (its `state` is ignored).
pub async fn counts(db: &AnyPool, mut q: CaseQuery) -> Result<CaseCounts, ApiError> {
    q.state = None;
    let rows: Vec<StateCount> = q
        .bind(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT state, COUNT(*) AS n FROM cases WHERE {FILTER_SQL} GROUP BY state"
        ))))
        .fetch_all(db)
        .await?;
    let mut counts: BTreeMap<&'static str, i64> =
        CaseState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for r in &rows {
        counts.insert(r.state.as_str(), r.n);
    }
    let total = rows.iter().map(|r| r.n).sum();
    Ok(CaseCounts { counts, total })
}

/// One page of the case queue in `sort` order, and the next page's cursor (`page` must be
/// [`PageRequest::tagged`] with `sort`'s [`CaseSort::cursor_tag`]).
pub async fn list(
    db: &AnyPool,
    q: CaseQuery,
    sort: CaseSort,
    page: &PageRequest,
) -> Result<(Vec<Case>, Option<String>), ApiError> {
    let (order, after) = sort.sql();
    let rows: Vec<Case> = q
        .bind(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE {FILTER_SQL} \
               AND ($7 IS NULL OR {after}) ORDER BY {order} LIMIT $9"
        ))))
        .bind(page.after_time())
        .bind(page.after_id())
        .bind(page.fetch_limit())
        .fetch_all(db)
        .await?;
    Ok(page.page_by(rows, |c| sort.key(c)))
}

/// An accepted report as listed in its case.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct ReportView {
    /// The category the service gave.
    pub category: Option<String>,
    /// Earlier messages included.
    pub earlier_count: i64,
    /// Report id.
    pub id: String,
    /// The reporter's reason.
    pub reason: String,
    /// Receipt time (ms).
    pub received_at: i64,
    /// The reporting user.
    pub reporter: String,
}

/// `GET /v1/cases/{id}`: the case with its reports, decrypted evidence and counts.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// Its evidence, oldest first.
    pub evidence: Vec<EvidenceView>,
    /// Number of notes.
    pub note_count: i64,
    /// Reports per reason.
    pub reason_counts: BTreeMap<String, u64>,
    /// The reporters, in report order.
    pub reporters: Vec<String>,
    /// The reports, oldest first.
    pub reports: Vec<ReportView>,
}

impl CaseDetail {
    /// Load the details of `case` for `viewer` (an audit actor): the decrypted evidence is shown
    /// only after its `evidence.view` audit entry is committed ([`evidence::record_view`]).
    pub async fn load(
        db: &AnyPool,
        key: &ServerKey,
        case: Case,
        viewer: &str,
    ) -> Result<Self, ApiError> {
        let reports: Vec<ReportView> = sqlx::query_as(
            "SELECT id, reporter, reason, category, earlier_count, received_at FROM reports \
             WHERE case_id = $1 ORDER BY received_at, id",
        )
        .bind(&case.id)
        .fetch_all(db)
        .await?;
        let mut reason_counts = BTreeMap::<String, u64>::new();
        for r in &reports {
            *reason_counts.entry(r.reason.clone()).or_default() += 1;
        }
        let evidence = evidence::for_case(db, key, &case.id).await?;
        evidence::record_view(db, viewer, &case.id, &case.network, &evidence).await?;
        Ok(Self {
            evidence,
            note_count: notes::count(db, &case.id).await?,
            reason_counts,
            reporters: reports.iter().map(|r| r.reporter.clone()).collect(),
            reports,
            case,
        })
    }
}

/// A workflow step a moderator or admin takes on a case.
#[derive(Debug, Clone)]
pub enum Transition {
    /// Assign (or reassign) to a moderator.
    Assign {
        /// The moderator's token subject.
        assignee: String,
    },
    /// Close with a review outcome, optionally with a note (stored in the same transaction).
    Resolve {
        /// The outcome.
        action: Resolution,
        /// The note body.
        note: Option<String>,
    },
    /// Close without a review outcome.
    Dismiss {
        /// Why (audit log only).
        reason: Option<String>,
    },
    /// Open a closed case again (assignee and resolution cleared).
    Reopen {
        /// Why (audit log only).
        reason: Option<String>,
    },
}

impl Transition {
    /// The verb (`assign`, ...); the audit action is `case.<verb>`.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Assign { .. } => "assign",
            Self::Resolve { .. } => "resolve",
            Self::Dismiss { .. } => "dismiss",
            Self::Reopen { .. } => "reopen",
        }
    }

    fn audit_action(&self) -> &'static str {
        match self {
            Self::Assign { .. } => "case.assign",
            Self::Resolve { .. } => "case.resolve",
            Self::Dismiss { .. } => "case.dismiss",
            Self::Reopen { .. } => "case.reopen",
        }
    }

    /// The webhook event this transition publishes.
    fn event(&self, network: &str, case_id: &str) -> Event {
        let kind = match self {
            Self::Assign { .. } => EventType::CaseAssigned,
            Self::Resolve { .. } => EventType::CaseResolved,
            Self::Dismiss { .. } => EventType::CaseDismissed,
            Self::Reopen { .. } => EventType::CaseReopened,
        };
        let event = Event::case(kind, network, case_id);
        match self {
            Self::Resolve { action, .. } => event.action(*action),
            _ => event,
        }
    }

    /// The states this transition may leave from.
    pub fn allowed_from(&self) -> &'static [CaseState] {
        match self {
            Self::Assign { .. } | Self::Resolve { .. } | Self::Dismiss { .. } => {
                &[CaseState::Open, CaseState::Assigned]
            }
            Self::Reopen { .. } => &[CaseState::Resolved, CaseState::Dismissed],
        }
    }

    /// The case after this transition at `now` (workflow columns only), or 409
    /// `invalid_transition` if the case's state does not allow it.
    pub fn next(&self, case: &Case, now: i64) -> Result<Case, ApiError> {
        let allowed = self.allowed_from();
        if !allowed.contains(&case.state) {
            return Err(ApiError::conflict(
                "invalid_transition",
                format!(
                    "cannot {} a case in state {:?} (allowed from {})",
                    self.verb(),
                    case.state.as_str(),
                    names(allowed, CaseState::as_str)
                ),
            ));
        }
        let mut next = case.clone();
        next.updated_at = now;
        match self {
            Self::Assign { assignee } => {
                next.state = CaseState::Assigned;
                next.assignee = Some(assignee.clone());
            }
            Self::Resolve { action, .. } => {
                next.state = CaseState::Resolved;
                next.resolution_action = Some(*action);
                next.closed_at = Some(now);
            }
            Self::Dismiss { .. } => {
                next.state = CaseState::Dismissed;
                next.resolution_action = None;
                next.closed_at = Some(now);
            }
            Self::Reopen { .. } => {
                next.state = CaseState::Open;
                next.assignee = None;
                next.resolution_action = None;
                next.closed_at = None;
            }
        }
        Ok(next)
    }

    /// The audit details (without `from` and `note_id`, which [`Self::apply`] adds).
    fn details(&self) -> serde_json::Value {
        match self {
            Self::Assign { assignee } => serde_json::json!({ "assignee": assignee }),
            Self::Resolve { action, .. } => serde_json::json!({ "action": action }),
            Self::Dismiss { reason } | Self::Reopen { reason } => {
                serde_json::json!({ "reason": reason })
            }
        }
    }

    /// Apply to `case` as `actor`: the conditional update, the optional note and the audit entry,
    /// in one [`Change`]. Returns the case as stored afterwards.
    pub async fn apply(self, db: &AnyPool, actor: String, case: &Case) -> Result<Case, ApiError> {
        let now = crate::util::now_ms();
        let next = self.next(case, now)?;
        let mut change = Change::begin(db, actor).await?;
        let stored: Case = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE cases SET state = $3, assignee = $4, resolution_action = $5, \
             resolved_at = $6, updated_at = $7 WHERE id = $1 AND state = $2 \
             RETURNING {CASE_COLUMNS}"
        )))
        .bind(&case.id)
        .bind(case.state)
        .bind(next.state)
        .bind(next.assignee)
        .bind(next.resolution_action)
        .bind(next.closed_at)
        .bind(now)
        .fetch_optional(change.conn())
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "invalid_transition",
                "the case changed concurrently; reload it and try again",
            )
        })?;
        let mut details = self.details();
        details["from"] = serde_json::json!(case.state);
        if let Self::Resolve {
            note: Some(body), ..
        } = &self
        {
            let author = change.actor().to_owned();
            let note = notes::insert(change.conn(), &case.id, &author, body, now).await?;
            details["note_id"] = serde_json::json!(note.id);
        }
        let entry = AuditEntry::new(self.audit_action(), format!("case:{}", case.id))
            .network(Some(&case.network))
            .details(details);
        if matches!(self, Self::Resolve { .. } | Self::Dismiss { .. }) {
            transparency::record_decision(change.conn(), &stored).await?;
            crate::federation::forward::emit_decisions(&mut change, &stored, now).await?;
        }
        change.emit(self.event(&case.network, &case.id));
        change.commit(entry).await?;
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn case(state: CaseState) -> Case {
        Case {
            assignee: Some("alice".into()),
            category: None,
            closed_at: Some(5),
            commitment: String::new(),
            first_reported_at: 1,
            id: "case_x".into(),
            key_id: 1,
            last_reported_at: 1,
            message_id: "m".into(),
            message_ts: 1,
            network: "net1".into(),
            report_count: 1,
            resolution_action: Some(Resolution::WarnSender),
            sender: "s".into(),
            stamp: String::new(),
            state,
            updated_at: 1,
        }
    }

    #[test]
    fn names_round_trip() {
        for s in CaseState::ALL {
            assert_eq!(CaseState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::json!(s), s.as_str());
        }
        for r in Resolution::ALL {
            assert_eq!(Resolution::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::json!(r), r.as_str());
        }
        assert_eq!(CaseState::parse("closed"), None);
        assert_eq!(Resolution::parse("delete"), None);
    }

    #[test]
    fn transitions_follow_the_state_machine() {
        let dismiss = Transition::Dismiss { reason: None };
        let reopen = Transition::Reopen { reason: None };
        let assign = Transition::Assign {
            assignee: "bob".into(),
        };
        let resolve = Transition::Resolve {
            action: Resolution::BanSender,
            note: None,
        };
        for s in CaseState::ALL {
            let closed = matches!(s, CaseState::Resolved | CaseState::Dismissed);
            for t in [&dismiss, &assign, &resolve] {
                assert_eq!(
                    t.next(&case(s), 9).is_ok(),
                    !closed,
                    "{} from {s:?}",
                    t.verb()
                );
            }
            let r = reopen.next(&case(s), 9);
            assert_eq!(r.is_ok(), closed);
            if let Err(e) = r {
                assert_eq!(e.code(), "invalid_transition");
            }
        }
        let n = reopen.next(&case(CaseState::Resolved), 9).unwrap();
        assert_eq!(n.state, CaseState::Open);
        assert_eq!(
            (n.assignee, n.resolution_action, n.closed_at),
            (None, None, None)
        );
        let n = dismiss.next(&case(CaseState::Open), 9).unwrap();
        assert_eq!(
            (n.state, n.resolution_action, n.closed_at),
            (CaseState::Dismissed, None, Some(9))
        );
        assert_eq!(n.assignee.as_deref(), Some("alice"));
        let n = resolve.next(&case(CaseState::Assigned), 9).unwrap();
        assert_eq!(n.resolution_action, Some(Resolution::BanSender));
        assert_eq!((n.closed_at, n.updated_at), (Some(9), 9));
        let n = assign.next(&case(CaseState::Assigned), 9).unwrap();
        assert_eq!(
            (n.state, n.assignee.as_deref()),
            (CaseState::Assigned, Some("bob"))
        );
    }
}
