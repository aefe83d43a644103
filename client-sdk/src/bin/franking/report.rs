//! `franking report`: the recipient builds an abuse report, and with `--server` submits it.

use client_sdk::OpenedMessage;

use crate::cli::ReportArgs;
use crate::error::CliResult;
use crate::file_io::{json_bytes, parse_output_of, read_input, read_text, write_output};

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
    let output = match remote {
        Some(client) => {
            json_bytes(&client.submit_report(&a.reporter, a.category.as_deref(), &report)?)?
        }
        None => json_bytes(&report)?,
    };
    write_output(a.out.as_deref(), &output)
}
