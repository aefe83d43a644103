//! [`Change`]: the one way to write. Every mutation of the database that an actor makes (admin
//! changes, case transitions, notes, retention purges) runs inside a `Change` — one transaction —
//! and is committed by [`Change::commit`] together with its audit entry, so a change without its
//! audit entry (or an audit entry without its change) can never be committed.
//!
//! Side effects that must be atomic with every audited change live in [`Change::commit`], and
//! nowhere else: the audit entry (linked into its hash chain, [`crate::audit_chain`]) and the
//! webhook events attached with [`Change::emit`] (written to the outbox,
//! [`crate::webhooks::outbox`]).
//!
//! ```text
//! let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
//! sqlx::query("UPDATE ...").execute(change.conn()).await?;
//! change.commit(AuditEntry::new("network.update", target).network(&id).details(json!({...}))?).await?;
//! ```
//! Dropping a `Change` without committing rolls everything back.

use sqlx::{AnyConnection, AnyPool, Transaction};

use crate::audit::{self, AuditEntry};
use crate::error::ApiError;
use crate::webhooks::outbox::{self, Event};

/// One transaction of changes by one actor, committed only together with its audit entry.
#[derive(Debug)]
pub struct Change {
    tx: Transaction<'static, sqlx::Any>,
    actor: String,
    events: Vec<Event>,
}

impl Change {
    /// Start a change made by `actor` (an audit actor string, e.g. `admin:root`).
    pub async fn begin(db: &AnyPool, actor: impl Into<String>) -> Result<Self, ApiError> {
        Ok(Self {
            tx: crate::db::begin_write(db).await?,
            actor: actor.into(),
            events: Vec::new(),
        })
    }

    /// Start a change of multi-row statements ([`crate::db::begin_multi_row_write`]: report
    /// intake).
    pub async fn begin_multi_row(db: &AnyPool, actor: impl Into<String>) -> Result<Self, ApiError> {
        Ok(Self {
            tx: crate::db::begin_multi_row_write(db).await?,
            actor: actor.into(),
            events: Vec::new(),
        })
    }

    /// The actor this change is recorded under.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The transaction's connection, for the change's own statements.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Attach a webhook event: written to the outbox by [`Self::commit`], in this transaction.
    pub fn emit(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Write the audit entry and the attached events, and commit the change with them (all or
    /// nothing).
    pub async fn commit(self, entry: AuditEntry) -> Result<(), ApiError> {
        let actor = self.actor.clone();
        self.commit_all(vec![(actor, entry)]).await
    }

    /// Commit several audited changes made in this one transaction, each entry with its own
    /// actor (batched report intake, [`crate::intake`]), with the attached events. An empty list
    /// is for a transaction that changed only bookkeeping no entry describes (the rate-limit
    /// counters of duplicate reports).
    pub async fn commit_all(mut self, entries: Vec<(String, AuditEntry)>) -> Result<(), ApiError> {
        audit::append_all(&mut self.tx, &entries).await?;
        outbox::enqueue(&mut self.tx, &self.events, crate::util::now_ms()).await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// Abandon the change (nothing is written).
    pub async fn rollback(self) -> Result<(), ApiError> {
        self.tx.rollback().await?;
        Ok(())
    }
}
