//! Attachments on the command line: blob files named by their commitment, the JSON description
//! of a message's attachments, and opened attachment files named with an extension from their
//! media type. Shared by `seal`, `open` and `verify`.

use std::path::{Path, PathBuf};

use client_sdk::AttachmentRef;
use client_sdk::attachment::{open_attachment, verify_attachment};
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
/// reaches the file name except through [`extension`]'s fixed table.
fn opened_file_name(index: usize, r: &AttachmentRef) -> String {
    let prefix = &hex::encode(r.commitment)[..16];
    format!("{index}-{prefix}.{}", extension(&r.media_type))
}

/// The usual file extension of a media type (parameters and letter case ignored); `bin` for
/// anything not in the table.
fn extension(media_type: &str) -> &'static str {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/heic" => "heic",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "audio/mpeg" => "mp3",
        "audio/ogg" => "ogg",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::extension;

    #[test]
    fn extensions_from_media_types() {
        assert_eq!(extension("image/png"), "png");
        assert_eq!(extension("IMAGE/JPEG"), "jpg");
        assert_eq!(extension("text/plain; charset=utf-8"), "txt");
        assert_eq!(extension("application/pdf"), "pdf");
        // Unknown or hostile media types never shape the file name.
        assert_eq!(extension("application/octet-stream"), "bin");
        assert_eq!(extension("image/../../etc/passwd"), "bin");
        assert_eq!(extension(""), "bin");
    }
}
