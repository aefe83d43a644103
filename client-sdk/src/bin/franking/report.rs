//! `franking report`: the recipient builds an abuse report, and with `--server` submits it (with
//! `--blob-dir`, together with the reported message's attachment blobs).

use client_sdk::OpenedMessage;

use crate::attachments::blob_path;
use crate::cli::ReportArgs;
use crate::error::CliResult;
use crate::file_io::{json_bytes, open_file, parse_output_of, read_input, read_text, write_output};

/// Member of `open`'s output holding the opened message.
const OPENED: &str = "opened";

/// Builds the report of the opened message read from `--in` (with `--earlier` context); prints
/// it, or the server's receipt with `--server`.
pub(crate) fn report(a: ReportArgs) -> CliResult<()> {
    let remote = a.remote.client()?;
    let opened: OpenedMessage = parse_output_of(&read_input(a.input.as_deref())?, OPENED)?;
    let earlier = a
        .earlier
        .iter()
        .map(|p| parse_output_of(&read_text(p)?, OPENED))
        .collect::<CliResult<Vec<OpenedMessage>>>()?;
    let earlier_refs: Vec<&OpenedMessage> = earlier.iter().collect();
    let report = opened.report(&a.reporter, &a.reason, &earlier_refs)?;
    let category = a.category.as_deref();
    let output = match (remote, &a.blob_dir) {
        (Some(client), Some(dir)) => {
            // Open every blob first, so a missing file fails before anything is sent.
            let blobs = opened
                .content()
                .attachments
                .iter()
                .map(|r| open_file(&blob_path(dir, &r.commitment)))
                .collect::<CliResult<Vec<_>>>()?;
            json_bytes(&client.submit_report_with_attachments(
                &a.reporter,
                category,
                &report,
                blobs,
            )?)?
        }
        (Some(client), None) => {
            json_bytes(&client.submit_report(&a.reporter, category, &report)?)?
        }
        (None, _) => json_bytes(&report)?,
    };
    write_output(a.out.as_deref(), &output)
}
