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
//! Round trips of a commit: the change's deferred writes ([`Change::writes`]) together with the
//! read of the webhook endpoints; the locking read of the audit chain heads; then the new heads,
//! the audit entries, the events and their deliveries as one statement ([`crate::writes`]); and
//! `COMMIT`.
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
use crate::writes::Writes;

/// One transaction of changes by one actor, committed only together with its audit entry.
#[derive(Debug)]
pub struct Change {
    tx: Transaction<'static, sqlx::Any>,
    actor: String,
    events: Vec<Event>,
    /// Writes sent with the commit's first round trip ([`Self::writes`]).
    writes: Writes,
}

impl Change {
    /// Start a change made by `actor` (an audit actor string, e.g. `admin:root`).
    pub async fn begin(db: &AnyPool, actor: impl Into<String>) -> Result<Self, ApiError> {
        Ok(Self::of(crate::db::begin_write(db).await?, actor.into()))
    }

    /// Start a change of multi-row statements ([`crate::db::begin_multi_row_write`]: report
    /// intake).
    pub async fn begin_multi_row(db: &AnyPool, actor: impl Into<String>) -> Result<Self, ApiError> {
        Ok(Self::of(
            crate::db::begin_multi_row_write(db).await?,
            actor.into(),
        ))
    }

    fn of(tx: Transaction<'static, sqlx::Any>, actor: String) -> Self {
        Self {
            writes: Writes::new(&tx),
            tx,
            actor,
            events: Vec::new(),
        }
    }

    /// The actor this change is recorded under.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The transaction's connection, for the change's own statements.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Writes deferred to the commit ([`crate::writes`]: one round trip on PostgreSQL with the
    /// commit's first read, before the audit chain heads are locked), or to [`Self::flush`]: rows
    /// no statement of the change reads or refers to before then.
    pub fn writes(&mut self) -> &mut Writes {
        &mut self.writes
    }

    /// The connection and the deferred writes, to read and defer in one go.
    pub fn conn_and_writes(&mut self) -> (&mut AnyConnection, &mut Writes) {
        (&mut self.tx, &mut self.writes)
    }

    /// Run the deferred writes now (before statements that read or reference their rows).
    pub async fn flush(&mut self) -> Result<(), ApiError> {
        let writes = self.take_writes();
        writes.run(&mut self.tx).await
    }

    /// The deferred writes, leaving none.
    fn take_writes(&mut self) -> Writes {
        std::mem::replace(&mut self.writes, Writes::new(&self.tx))
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
        let deferred = self.take_writes();
        let outbox =
            outbox::prepare(&mut self.tx, &self.events, deferred, crate::util::now_ms()).await?;
        let mut writes = Writes::new(&self.tx);
        audit::append_all(&mut self.tx, &entries, &mut writes).await?;
        outbox.push(&mut writes);
        writes.run(&mut self.tx).await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// Abandon the change (nothing is written).
    pub async fn rollback(self) -> Result<(), ApiError> {
        self.tx.rollback().await?;
        Ok(())
    }
}
