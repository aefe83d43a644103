//! The append-only audit log (`audit_log` table): who did what to which object, when.

use sqlx::AnyExecutor;

use crate::error::ApiError;
use crate::util::{new_id, now_ms};

/// Append one audit entry. `details` is a JSON object; never put secrets in it.
pub async fn record<'c, E: AnyExecutor<'c>>(
    db: E,
    actor: &str,
    action: &str,
    target: &str,
    network: Option<&str>,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, target, network_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id("aud")?)
    .bind(now_ms())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(network.map(str::to_owned))
    .bind(details.to_string())
    .execute(db)
    .await?;
    Ok(())
}
