//! `franking verify`: the report server or a moderator verifies a report offline.

use client_sdk::frank::{Report, ReportPolicy};
use client_sdk::moderation::{EarlierContent, verify_report};
use serde_json::{Value, json};

use crate::attachments::describe_and_check;
use crate::cli::VerifyArgs;
use crate::error::CliResult;
use crate::file_io::{Outputs, json_bytes, read_input, write_output};
use crate::keys::key_ring;
use crate::now_ms;

/// Prints `{"valid": true, ...}` with the verified content (and, with `--attachments-out`, writes
/// the verified attachments), or `{"valid": false, "code": ...}` and fails.
pub(crate) fn verify(a: VerifyArgs) -> CliResult<()> {
    let mut outputs = Outputs::default();
    match verified(&a, &mut outputs) {
        Ok(out) => outputs.finish(None, &json_bytes(&out)?),
        Err(e) => {
            // Best effort: the error itself goes to stderr from main.
            if let Ok(bytes) = json_bytes(&json!({ "valid": false, "code": e.code() })) {
                let _ = write_output(None, &bytes);
            }
            Err(e)
        }
    }
}

fn verified(a: &VerifyArgs, outputs: &mut Outputs) -> CliResult<Value> {
    let mut policy = ReportPolicy::default();
    if let Some(w) = a.window_ms {
        policy.window_ms = w;
    }
    let now = a.now_ms.unwrap_or_else(now_ms);
    let report = Report::from_json(read_input(a.input.as_deref())?.as_bytes())?;
    let ring = key_ring(&a.platform_key, report.message.context.network())?;
    let v = verify_report(report, &ring, &policy, now)?;
    let attachments = describe_and_check(
        &v.content.attachments,
        a.blob_dir.as_deref(),
        a.attachments_out.as_deref(),
        outputs,
    )?;
    let earlier = v
        .earlier
        .iter()
        .map(|m| earlier_json(m, outputs))
        .collect::<CliResult<Vec<_>>>()?;
    Ok(json!({
        "valid": true,
        "key_id": v.report.key_id(),
        "reporter": v.report.report().reporter,
        "reason": v.report.report().reason,
        "context": v.report.context(),
        "text": v.content.text,
        "attachments": attachments,
        "earlier": earlier,
    }))
}

/// One earlier message as `verify` prints it (the list is in conversation order): who sent it,
/// when, whether the reporter did, and its text and attachments (described, not opened: only the
/// reported message's blobs are checked).
fn earlier_json(m: &EarlierContent, outputs: &mut Outputs) -> CliResult<Value> {
    Ok(json!({
        "position": m.position,
        "sender": m.context.sender(),
        "recipients": m.context.recipients(),
        "timestamp_ms": m.context.timestamp_ms(),
        "message_id": m.context.message_id(),
        "sent_by_reporter": m.sent_by_reporter,
        "text": m.text,
        "attachments": describe_and_check(&m.attachments, None, None, outputs)?,
    }))
}
