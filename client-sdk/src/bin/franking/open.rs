//! `franking open`: the recipient opens a stamped envelope and its attachments.

use client_sdk::frank::PublishedKey;
use client_sdk::{OpenChecks, StampedEnvelope};
use serde_json::json;

use crate::attachments::describe_and_check;
use crate::cli::OpenArgs;
use crate::error::{CliError, CliResult};
use crate::file_io::{Outputs, json_bytes, read_input, read_text};
use crate::keys::conversation;

/// Opens the stamped envelope read from `--in`, refusing anything that does not verify; with
/// `--blob-dir` and `--attachments-out`, decrypts every attachment into the output directory.
pub(crate) fn open(a: OpenArgs) -> CliResult<()> {
    let conv = conversation(&a.session)?;
    let delivered = StampedEnvelope::from_json(read_input(a.input.as_deref())?.as_bytes())?;
    let platform_keys = a
        .platform_keys
        .as_deref()
        .map(|path| -> CliResult<Vec<PublishedKey>> {
            PublishedKey::list_from_json(read_text(path)?.as_bytes()).map_err(CliError::from)
        })
        .transpose()?;
    let mut checks = OpenChecks::recipient(&a.me);
    if let Some(s) = &a.sender {
        checks = checks.sender(s);
    }
    if let Some(keys) = &platform_keys {
        checks = checks.platform_keys(keys);
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
