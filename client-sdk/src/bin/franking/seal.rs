//! `franking seal`: the sender seals text and attachments into a franked envelope.

use std::path::{Path, PathBuf};

use client_sdk::MessageContent;
use client_sdk::attachment::seal_attachment;
use client_sdk::frank::Suite;
use serde_json::json;

use crate::attachments::blob_path;
use crate::cli::SealArgs;
use crate::error::{CliError, CliResult};
use crate::file_io::{Outputs, create_dir, json_bytes, open_file, read_text, stage_in};
use crate::keys::conversation;

/// Media type of an attachment given without one.
const DEFAULT_MEDIA_TYPE: &str = "application/octet-stream";

/// Seals every `--attach` file into a blob in `--blob-dir` (created if missing) and the message
/// into an envelope; blobs and output appear only if everything succeeded.
pub(crate) fn seal(a: SealArgs) -> CliResult<()> {
    let conv = conversation(&a.session)?.with_suite(Suite::from_id(a.suite)?);
    let text = match (&a.text, &a.text_file) {
        (Some(t), _) => t.clone(),
        (None, Some(p)) => read_text(p)?,
        (None, None) => String::new(),
    };
    let blob_dir = match (&a.blob_dir, a.attach.is_empty()) {
        (None, false) => return Err(CliError::Usage("--attach requires --blob-dir".into())),
        (dir, _) => dir.as_deref(),
    };
    if let Some(dir) = blob_dir {
        create_dir(dir)?;
    }
    let mut outputs = Outputs::default();
    let mut attachments = Vec::new();
    let mut blobs = Vec::new();
    for spec in &a.attach {
        let (path, media_type) = parse_attach(spec);
        let dir = blob_dir.unwrap_or(Path::new("."));
        let input = open_file(&path)?;
        // The blob's name is its commitment, known only once it is sealed.
        let mut reference = None;
        let staged = stage_in(dir, "sealing.blob", |w| {
            reference = Some(seal_attachment(&media_type, input, w)?);
            Ok(())
        })?;
        let reference =
            reference.ok_or_else(|| CliError::Usage("sealing produced no reference".into()))?;
        let blob = blob_path(dir, &reference.commitment);
        blobs.push(json!({
            "file": path,
            "blob": blob,
            "media_type": media_type,
            "length": reference.length,
            "commitment": hex::encode(reference.commitment),
        }));
        outputs.add(staged, blob);
        attachments.push(reference);
    }
    let envelope = conv.seal(&MessageContent { text, attachments })?;
    let output = json_bytes(&json!({ "envelope": envelope, "blobs": blobs }))?;
    outputs.finish(a.out.as_deref(), &output)
}

/// `PATH` or `PATH:MEDIA_TYPE` (a media type contains a '/', so `C:file` stays a path).
fn parse_attach(spec: &str) -> (PathBuf, String) {
    match spec.rsplit_once(':') {
        Some((p, m)) if m.contains('/') => (PathBuf::from(p), m.to_owned()),
        _ => (PathBuf::from(spec), DEFAULT_MEDIA_TYPE.to_owned()),
    }
}
