//! Transparency: a statement of reasons for every moderation decision (written by
//! [`record_decision`] in the decision's transaction, [`crate::cases::Transition::apply`]), shown
//! with EU DSA Transparency Database field names where a field applies ([`Statement`]; the mapping
//! is in `docs/api.md`), and the transparency report ([`report`]): reports and decisions by
//! category and action, median and p90 time to first decision, evidence purges.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};

use crate::cases::{Case, CaseState, Resolution};
use crate::error::ApiError;
use crate::page::{Keyset, PageRequest};
use crate::util::new_id;

/// The stored decision of a dismissed case.
pub const DISMISSED: &str = "dismissed";

/// Record the statement of reasons of `case` as stored right after its resolve or dismiss.
pub(crate) async fn record_decision(conn: &mut AnyConnection, case: &Case) -> Result<(), ApiError> {
    let decision = match (case.state, case.resolution_action) {
        (CaseState::Resolved, Some(a)) => a.as_str(),
        (CaseState::Dismissed, _) => DISMISSED,
        _ => {
            return Err(ApiError::Internal(
                "statement of reasons for an undecided case".into(),
            ));
        }
    };
    sqlx::query(
        "INSERT INTO statements_of_reasons (id, case_id, network_id, decision, category, \
         report_count, message_ts, first_reported_at, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_id("sor")?)
    .bind(&case.id)
    .bind(&case.network)
    .bind(decision)
    .bind(case.category.clone())
    .bind(case.report_count)
    .bind(case.message_ts)
    .bind(case.first_reported_at)
    .bind(case.closed_at.unwrap_or(case.updated_at))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct StatementRow {
    id: String,
    case_id: String,
    network_id: String,
    decision: String,
    category: Option<String>,
    report_count: i64,
    message_ts: i64,
    first_reported_at: i64,
    decided_at: i64,
}

/// A statement of reasons. Fields named after the DSA Transparency Database's statement of
/// reasons where one applies; `decision`, `case_id`, `network`, `report_count` and the times are
/// this server's own.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    /// Statement id (`sor_...`).
    pub id: String,
    /// The case decided.
    pub case_id: String,
    /// The network (the platform).
    pub network: String,
    /// This server's decision: a resolution action or `dismissed`.
    pub decision: String,
    /// When the decision was taken (ms).
    pub decided_at: i64,
    /// First report of the case (ms).
    pub first_reported_at: i64,
    /// Distinct reporters.
    pub report_count: i64,
    /// Whether the decision restricts anything (a DSA statement of reasons is owed); false for
    /// `no_violation` and `dismissed`.
    pub restriction: bool,
    /// DSA `decision_visibility`.
    pub decision_visibility: Vec<&'static str>,
    /// DSA `decision_visibility_other`.
    pub decision_visibility_other: Option<&'static str>,
    /// DSA `decision_account`.
    pub decision_account: Option<&'static str>,
    /// DSA `decision_monetary` (never: this server decides no monetary restrictions).
    pub decision_monetary: Option<&'static str>,
    /// DSA `decision_provision` (never).
    pub decision_provision: Option<&'static str>,
    /// DSA `decision_ground`: the platform's terms (`DECISION_GROUND_INCOMPATIBLE_CONTENT`); the
    /// server does not assess legality.
    pub decision_ground: Option<&'static str>,
    /// DSA `incompatible_content_ground`: the report category.
    pub incompatible_content_ground: Option<String>,
    /// DSA `category`.
    pub category: &'static str,
    /// DSA `content_type`.
    pub content_type: Vec<&'static str>,
    /// DSA `content_date` (UTC date of the message).
    pub content_date: String,
    /// DSA `application_date` (UTC date of the decision).
    pub application_date: String,
    /// DSA `source_type`: user notices (`SOURCE_ARTICLE_16`).
    pub source_type: &'static str,
    /// DSA `automated_detection`.
    pub automated_detection: &'static str,
    /// DSA `automated_decision`.
    pub automated_decision: &'static str,
    /// DSA `decision_facts`.
    pub decision_facts: String,
    /// DSA `puid` (the platform's unique identifier of the decision): the statement id.
    pub puid: String,
}

impl Keyset for Statement {
    fn keyset(&self) -> (i64, &str) {
        (self.decided_at, &self.id)
    }
}

/// The DSA `category` of a report category (the default categories; anything else is
/// `STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE`).
pub fn dsa_category(category: Option<&str>) -> &'static str {
    match category {
        Some("spam") => "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        Some("harassment") => "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        Some("csam") => "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        Some("violence") => "STATEMENT_CATEGORY_VIOLENCE",
        _ => "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
    }
}

/// `YYYY-MM-DD` (UTC) of a time in ms since the epoch (proleptic Gregorian; H. Hinnant's
/// civil-from-days).
pub fn utc_date(ms: i64) -> String {
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

impl From<StatementRow> for Statement {
    fn from(r: StatementRow) -> Self {
        let action = Resolution::parse(&r.decision);
        let (visibility, other, account) = match action {
            Some(Resolution::RemoveContent) => {
                (vec!["DECISION_VISIBILITY_CONTENT_REMOVED"], None, None)
            }
            Some(Resolution::WarnSender) => (
                vec!["DECISION_VISIBILITY_OTHER"],
                Some("warning to the sender"),
                None,
            ),
            Some(Resolution::SuspendSender) => (vec![], None, Some("DECISION_ACCOUNT_SUSPENDED")),
            Some(Resolution::BanSender) => (vec![], None, Some("DECISION_ACCOUNT_TERMINATED")),
            Some(Resolution::NoViolation) | None => (vec![], None, None),
        };
        let restriction = !visibility.is_empty() || account.is_some();
        Self {
            decision_facts: format!(
                "Reported by {} user(s) as {}; decision: {}.",
                r.report_count,
                r.category.as_deref().unwrap_or("uncategorised"),
                r.decision
            ),
            puid: r.id.clone(),
            id: r.id,
            case_id: r.case_id,
            network: r.network_id,
            decided_at: r.decided_at,
            first_reported_at: r.first_reported_at,
            report_count: r.report_count,
            restriction,
            decision_visibility: visibility,
            decision_visibility_other: other,
            decision_account: account,
            decision_monetary: None,
            decision_provision: None,
            decision_ground: restriction.then_some("DECISION_GROUND_INCOMPATIBLE_CONTENT"),
            incompatible_content_ground: r.category.clone().filter(|_| restriction),
            category: dsa_category(r.category.as_deref()),
            content_type: vec!["CONTENT_TYPE_TEXT"],
            content_date: utc_date(r.message_ts),
            application_date: utc_date(r.decided_at),
            source_type: "SOURCE_ARTICLE_16",
            automated_detection: "No",
            automated_decision: "AUTOMATED_DECISION_NOT_AUTOMATED",
            decision: r.decision,
        }
    }
}

const STATEMENT_COLUMNS: &str = "id, case_id, network_id, decision, category, report_count, \
     message_ts, first_reported_at, decided_at";

/// Every statement of a case, oldest first.
pub async fn for_case(db: &AnyPool, case_id: &str) -> Result<Vec<Statement>, ApiError> {
    let rows: Vec<StatementRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements_of_reasons WHERE case_id = $1 \
         ORDER BY decided_at, id"
    )))
    .bind(case_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Statement::from).collect())
}

/// The filter of the transparency report and the statement export.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Only this network.
    #[serde(default)]
    pub network: Option<String>,
    /// From (inclusive, ms).
    #[serde(default)]
    pub from: Option<i64>,
    /// To (exclusive, ms).
    #[serde(default)]
    pub to: Option<i64>,
    /// Page size of the export (1..=200, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous export page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One page of statements decided in `range`, newest first (the export).
pub async fn export(
    db: &AnyPool,
    range: &Range,
    page: &PageRequest,
) -> Result<(Vec<Statement>, Option<String>), ApiError> {
    let rows: Vec<StatementRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements_of_reasons \
         WHERE ($1 IS NULL OR network_id = $1) AND ($2 IS NULL OR decided_at >= $2) \
           AND ($3 IS NULL OR decided_at < $3) \
           AND ($4 IS NULL OR decided_at < $4 OR (decided_at = $4 AND id < $5)) \
         ORDER BY decided_at DESC, id DESC LIMIT $6"
    )))
    .bind(range.network.clone())
    .bind(range.from)
    .bind(range.to)
    .bind(page.after_time())
    .bind(page.after_id())
    .bind(page.fetch_limit())
    .fetch_all(db)
    .await?;
    Ok(page.page(rows.into_iter().map(Statement::from).collect()))
}

/// Median and p90 (nearest rank) of a duration sample.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Quantiles {
    /// Cases in the sample.
    pub cases: u64,
    /// Median (ms); `null` without cases.
    pub median_ms: Option<i64>,
    /// 90th percentile (ms); `null` without cases.
    pub p90_ms: Option<i64>,
}

/// Nearest-rank quantiles of `v`.
pub fn quantiles(mut v: Vec<i64>) -> Quantiles {
    v.sort_unstable();
    let rank = |q: f64| -> Option<i64> {
        if v.is_empty() {
            return None;
        }
        let n = v.len() as f64;
        let i = ((q * n).ceil() as usize).clamp(1, v.len()) - 1;
        Some(v[i])
    };
    Quantiles {
        cases: v.len() as u64,
        median_ms: rank(0.5),
        p90_ms: rank(0.9),
    }
}

/// One row of a breakdown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Count {
    /// Report category (`null`: none given).
    pub category: Option<String>,
    /// Decision (a resolution action or `dismissed`; `null` for report counts).
    pub decision: Option<String>,
    /// How many.
    pub count: i64,
}

/// The transparency report (`GET /v1/admin/transparency`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The network, or `null` for all.
    pub network: Option<String>,
    /// Range start (ms, inclusive), if any.
    pub from: Option<i64>,
    /// Range end (ms, exclusive), if any.
    pub to: Option<i64>,
    /// Reports received in the range.
    pub reports_total: i64,
    /// Reports received, by category.
    pub reports_by_category: Vec<Count>,
    /// Decisions taken in the range.
    pub decisions_total: i64,
    /// Decisions by decision.
    pub decisions_by_action: BTreeMap<String, i64>,
    /// Decisions by category and decision.
    pub decisions_by_category_and_action: Vec<Count>,
    /// Time from a case's first report to its first decision, for cases first decided in range.
    pub time_to_first_decision: Quantiles,
    /// Evidence rows purged in the range.
    pub evidence_purged: i64,
    /// Cases whose evidence was purged in the range.
    pub evidence_purged_cases: i64,
}

/// Build the transparency report for `range` (its `limit`/`cursor` are ignored).
pub async fn report(db: &AnyPool, range: &Range) -> Result<Report, ApiError> {
    let (net, from, to) = (range.network.clone(), range.from, range.to);
    let reports: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT category, COUNT(*) FROM reports WHERE ($1 IS NULL OR network_id = $1) \
         AND ($2 IS NULL OR received_at >= $2) AND ($3 IS NULL OR received_at < $3) \
         GROUP BY category ORDER BY category",
    )
    .bind(net.clone())
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?;
    let decisions: Vec<(Option<String>, String, i64)> = sqlx::query_as(
        "SELECT category, decision, COUNT(*) FROM statements_of_reasons \
         WHERE ($1 IS NULL OR network_id = $1) AND ($2 IS NULL OR decided_at >= $2) \
           AND ($3 IS NULL OR decided_at < $3) \
         GROUP BY category, decision ORDER BY category, decision",
    )
    .bind(net.clone())
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?;
    let firsts: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT MIN(decided_at), MIN(first_reported_at) FROM statements_of_reasons \
         WHERE ($1 IS NULL OR network_id = $1) GROUP BY case_id \
         HAVING ($2 IS NULL OR MIN(decided_at) >= $2) AND ($3 IS NULL OR MIN(decided_at) < $3)",
    )
    .bind(net.clone())
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?;
    let (purged, purged_cases): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT e.case_id) FROM evidence e \
         JOIN cases c ON c.id = e.case_id WHERE e.purged_at IS NOT NULL \
           AND ($1 IS NULL OR c.network_id = $1) AND ($2 IS NULL OR e.purged_at >= $2) \
           AND ($3 IS NULL OR e.purged_at < $3)",
    )
    .bind(net.clone())
    .bind(from)
    .bind(to)
    .fetch_one(db)
    .await?;
    let mut by_action = BTreeMap::new();
    for (_, d, n) in &decisions {
        *by_action.entry(d.clone()).or_insert(0) += n;
    }
    Ok(Report {
        network: net,
        from,
        to,
        reports_total: reports.iter().map(|r| r.1).sum(),
        reports_by_category: reports
            .into_iter()
            .map(|(category, count)| Count {
                category,
                decision: None,
                count,
            })
            .collect(),
        decisions_total: decisions.iter().map(|d| d.2).sum(),
        decisions_by_action: by_action,
        decisions_by_category_and_action: decisions
            .into_iter()
            .map(|(category, d, count)| Count {
                category,
                decision: Some(d),
                count,
            })
            .collect(),
        time_to_first_decision: quantiles(
            firsts.into_iter().map(|(d, f)| (d - f).max(0)).collect(),
        ),
        evidence_purged: purged,
        evidence_purged_cases: purged_cases,
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl Report {
    /// The report as CSV: `metric,category,decision,value` rows (RFC 4180 quoting).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("metric,category,decision,value\r\n");
        let mut row = |m: &str, c: Option<&str>, d: Option<&str>, v: String| {
            out.push_str(&format!(
                "{},{},{},{}\r\n",
                csv_field(m),
                csv_field(c.unwrap_or("")),
                csv_field(d.unwrap_or("")),
                v
            ));
        };
        row("reports_total", None, None, self.reports_total.to_string());
        for c in &self.reports_by_category {
            row("reports", c.category.as_deref(), None, c.count.to_string());
        }
        row(
            "decisions_total",
            None,
            None,
            self.decisions_total.to_string(),
        );
        for c in &self.decisions_by_category_and_action {
            row(
                "decisions",
                c.category.as_deref(),
                c.decision.as_deref(),
                c.count.to_string(),
            );
        }
        let q = &self.time_to_first_decision;
        let opt = |v: Option<i64>| v.map_or_else(String::new, |v| v.to_string());
        row(
            "time_to_first_decision_cases",
            None,
            None,
            q.cases.to_string(),
        );
        row(
            "time_to_first_decision_median_ms",
            None,
            None,
            opt(q.median_ms),
        );
        row("time_to_first_decision_p90_ms", None, None, opt(q.p90_ms));
        row(
            "evidence_purged",
            None,
            None,
            self.evidence_purged.to_string(),
        );
        row(
            "evidence_purged_cases",
            None,
            None,
            self.evidence_purged_cases.to_string(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dates_quantiles_csv() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400_000), "2000-02-29");
        assert_eq!(utc_date(1_735_689_599_999), "2024-12-31");
        assert_eq!(utc_date(-1), "1969-12-31");
        assert_eq!(quantiles(vec![]), Quantiles::default());
        let q = quantiles((1..=10).rev().collect());
        assert_eq!((q.cases, q.median_ms, q.p90_ms), (10, Some(5), Some(9)));
        let q = quantiles(vec![7]);
        assert_eq!((q.median_ms, q.p90_ms), (Some(7), Some(7)));
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
