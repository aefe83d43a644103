//! `franking stamp`: the platform relay stamps a sealed envelope, locally or through the server.

use client_sdk::frank::Context;
use client_sdk::stamp_envelope;

use crate::cli::StampArgs;
use crate::error::{CliError, CliResult};
use crate::file_io::{json_bytes, parse_output_of, read_input, write_output};
use crate::keys::key_ring;
use crate::now_ms;

/// Stamps the envelope read from `--in` under the context given by the arguments.
pub(crate) fn stamp(a: StampArgs) -> CliResult<()> {
    let remote = a.remote.client()?;
    let envelope = parse_output_of(&read_input(a.input.as_deref())?, "envelope")?;
    let ctx = Context::new(
        a.network.clone(),
        a.sender,
        a.room,
        a.recipient,
        a.timestamp_ms.unwrap_or_else(now_ms),
        a.message_id,
    )?;
    let delivered = match (&remote, &a.platform_key) {
        (Some(client), _) => client.stamp(envelope, ctx)?,
        (None, Some(path)) => stamp_envelope(&key_ring(path, &a.network)?, envelope, ctx)?,
        (None, None) => return Err(CliError::Usage("--platform-key or --server".into())),
    };
    write_output(a.out.as_deref(), &json_bytes(&delivered)?)
}
