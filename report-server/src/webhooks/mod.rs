//! Webhooks: decisions reach the platform. Per-network endpoints ([`endpoints`]), a durable outbox
//! written in the transaction of the change it reports ([`outbox`]), HMAC-SHA-256 signatures
//! ([`signature`]) and the delivery worker ([`delivery`]: leases, retries with exponential backoff
//! and jitter, dead letters).
//!
//! ```text
//! Change::commit / intake ──▶ outbox::prepare ─▶ webhook_events + webhook_deliveries (same tx)
//! delivery worker (every instance) ──claim (lease)──▶ POST url (signed) ──▶ delivered | retry | dead
//! ```
//!
//! Payloads carry the event id, type, network, case id, message id and time (and the action of a
//! resolution) — never evidence or notes, and reporter identities only when the network policy's
//! `webhook_reporter_identities` is on. See `docs/api.md` (Webhooks) and `docs/integration.md`.

pub mod delivery;
pub mod endpoints;
pub mod outbox;
pub mod signature;

/// The event types a webhook endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EventType {
    /// A report opened a new case.
    #[serde(rename = "case.created")]
    CaseCreated,
    /// Another reporter reported the message of an existing case.
    #[serde(rename = "case.report_added")]
    CaseReportAdded,
    /// The case was assigned (or reassigned) to a moderator.
    #[serde(rename = "case.assigned")]
    CaseAssigned,
    /// The case was resolved; the payload carries the action.
    #[serde(rename = "case.resolved")]
    CaseResolved,
    /// The case was dismissed.
    #[serde(rename = "case.dismissed")]
    CaseDismissed,
    /// A closed case was reopened.
    #[serde(rename = "case.reopened")]
    CaseReopened,
    /// Retention purged the case's evidence.
    #[serde(rename = "evidence.purged")]
    EvidencePurged,
    /// Federation (peer deliveries only, never a webhook subscription): a verified report of a
    /// peer's message, forwarded to the peer (`POST /v1/federation/reports`).
    #[serde(rename = "federation.forward")]
    FederationForward,
    /// Federation (peer deliveries only): the decision on a case that a peer's forward joined,
    /// sent back to that peer (`POST /v1/federation/decisions`).
    #[serde(rename = "federation.decision")]
    FederationDecision,
}

impl EventType {
    /// Every event type a webhook endpoint can subscribe to.
    pub const ALL: [EventType; 7] = [
        Self::CaseCreated,
        Self::CaseReportAdded,
        Self::CaseAssigned,
        Self::CaseResolved,
        Self::CaseDismissed,
        Self::CaseReopened,
        Self::EvidencePurged,
    ];

    /// The event types delivered to peers (federation), not to webhook endpoints.
    pub const FEDERATION: [EventType; 2] = [Self::FederationForward, Self::FederationDecision];

    /// The wire (and stored) name, e.g. `case.resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CaseCreated => "case.created",
            Self::CaseReportAdded => "case.report_added",
            Self::CaseAssigned => "case.assigned",
            Self::CaseResolved => "case.resolved",
            Self::CaseDismissed => "case.dismissed",
            Self::CaseReopened => "case.reopened",
            Self::EvidencePurged => "evidence.purged",
            Self::FederationForward => "federation.forward",
            Self::FederationDecision => "federation.decision",
        }
    }

    /// Parse a wire (or stored) name, federation types included.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain(Self::FEDERATION)
            .find(|v| v.as_str() == s)
    }

    /// The path a peer delivery of this type is POSTed to (below the peer's base URL); `None`
    /// for webhook event types.
    pub fn peer_path(self) -> Option<&'static str> {
        match self {
            Self::FederationForward => Some("/v1/federation/reports"),
            Self::FederationDecision => Some("/v1/federation/decisions"),
            _ => None,
        }
    }
}

crate::db::text_enum!(EventType);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for t in EventType::ALL.into_iter().chain(EventType::FEDERATION) {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::json!(t.as_str())
            );
        }
        assert_eq!(EventType::parse("case.deleted"), None);
    }
}
