//! `franking open`: the recipient opens a stamped envelope and its attachments.

use client_sdk::keys;
use client_sdk::{OpenChecks, StampedEnvelope};
use serde_json::json;

use crate::attachments::describe_and_check;
use crate::cli::OpenArgs;
use crate::error::CliResult;
use crate::file_io::{Outputs, json_bytes, read_input};
use crate::keys::conversation;

/// Opens the stamped envelope read from `--in`, refusing anything that does not verify; with
/// `--blob-dir` and `--attachments-out`, decrypts every attachment into the output directory.
pub(crate) fn open(a: OpenArgs) -> CliResult<()> {
    let conv = conversation(&a.session)?;
    let delivered: StampedEnvelope = serde_json::from_str(&read_input(a.input.as_deref())?)?;
    let vk = a
        .platform_verifying_key
        .as_deref()
        .map(keys::verifying_key_from_b64)
        .transpose()?;
    let mut checks = OpenChecks::recipient(&a.me);
    if let Some(s) = &a.sender {
        checks = checks.sender(s);
    }
    if let Some(vk) = &vk {
        checks = checks.platform_key(vk);
    }
    let opened = conv.open(&delivered, &checks)?;
    let mut outputs = Outputs::default();
    let attachments = describe_and_check(
        &opened.content().attachments,
        a.blob_dir.as_deref(),
        a.attachments_out.as_deref(),
        &mut outputs,
    )?;
    let output = json_bytes(&json!({
        "text": opened.content().text,
        "attachments": attachments,
        "context": opened.context(),
        "opened": opened,
    }))?;
    outputs.finish(a.out.as_deref(), &output)
}
