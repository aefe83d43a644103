//! [`Change`]: the one way to write. Every mutation of the database that an actor makes (admin
//! changes, case transitions, notes, retention purges) runs inside a `Change` — one transaction —
//! and is committed by [`Change::commit`] together with its audit entry, so a change without its
//! audit entry (or an audit entry without its change) can never be committed.
//!
//! Adding a side effect that must be atomic with every audited change (an outbox event for
//! webhooks, say) means adding it to [`Change::commit`], and nowhere else.
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

/// One transaction of changes by one actor, committed only together with its audit entry.
#[derive(Debug)]
pub struct Change {
    tx: Transaction<'static, sqlx::Any>,
    actor: String,
}

impl Change {
    /// Start a change made by `actor` (an audit actor string, e.g. `admin:root`).
    pub async fn begin(db: &AnyPool, actor: impl Into<String>) -> Result<Self, ApiError> {
        Ok(Self {
            tx: db.begin().await?,
            actor: actor.into(),
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

    /// Write the audit entry and commit the change with it (all or nothing).
    pub async fn commit(mut self, entry: AuditEntry) -> Result<(), ApiError> {
        audit::append(&mut self.tx, &self.actor, &entry).await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// Abandon the change (nothing is written).
    pub async fn rollback(self) -> Result<(), ApiError> {
        self.tx.rollback().await?;
        Ok(())
    }
}
