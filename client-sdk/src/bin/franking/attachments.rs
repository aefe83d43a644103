//! Attachments on the command line: blob files named by their commitment, the JSON description
//! of a message's attachments, and opened attachment files named with an extension from their
//! media type. Shared by `seal`, `open` and `verify`.

use std::path::{Path, PathBuf};

use client_sdk::AttachmentRef;
use client_sdk::attachment::{file_extension, open_attachment, verify_attachment};
use serde_json::{Value, json};

use crate::error::CliResult;
use crate::file_io::{Outputs, create_dir, open_file};

/// Where the blob of the attachment with this commitment lives: `DIR/COMMITMENT_HEX.blob`.
pub(crate) fn blob_path(dir: &Path, commitment: &[u8; 32]) -> PathBuf {
    dir.join(format!("{}.blob", hex::encode(commitment)))
}

/// Describes every attachment of an opened or verified message. With `blob_dir`, each blob is
/// checked against its (already authenticated) reference and marked `"verified": true`; with
/// `out_dir` as well (created if missing), each is decrypted into `outputs` as
/// `out_dir/INDEX-COMMITMENT_PREFIX.EXT` and its `"path"` given. The files appear only when the
/// command finishes successfully.
pub(crate) fn describe_and_check(
    refs: &[AttachmentRef],
    blob_dir: Option<&Path>,
    out_dir: Option<&Path>,
    outputs: &mut Outputs,
) -> CliResult<Vec<Value>> {
    if let Some(dir) = out_dir {
        create_dir(dir)?;
    }
    refs.iter()
        .enumerate()
        .map(|(i, r)| {
            let mut entry = json!({
                "index": i,
                "media_type": r.media_type,
                "length": r.length,
                "commitment": hex::encode(r.commitment),
            });
            if let Some(blobs) = blob_dir {
                let blob = open_file(&blob_path(blobs, &r.commitment))?;
                match out_dir {
                    Some(dir) => {
                        let dest = dir.join(opened_file_name(i, r));
                        outputs.stage(&dest, |w| {
                            open_attachment(r, blob, w)?;
                            Ok(())
                        })?;
                        entry["path"] = json!(dest);
                    }
                    None => {
                        verify_attachment(r, blob)?;
                    }
                }
                entry["verified"] = json!(true);
            }
            Ok(entry)
        })
        .collect()
}

/// `INDEX-COMMITMENT_PREFIX.EXT`: unique within a message, recognisable across runs, and with an
/// extension so the file opens in the right viewer. The media type chosen by the sender never
/// reaches the file name except through [`file_extension`]'s fixed table.
fn opened_file_name(index: usize, r: &AttachmentRef) -> String {
    let prefix = &hex::encode(r.commitment)[..16];
    format!("{index}-{prefix}.{}", file_extension(&r.media_type))
}
