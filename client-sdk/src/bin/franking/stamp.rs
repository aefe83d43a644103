//! `franking stamp`: the platform relay stamps a sealed envelope, locally or through the server.

use client_sdk::frank::Context;
use client_sdk::group::RoomRelay;
use client_sdk::stamp_envelope;

use crate::cli::StampArgs;
use crate::error::{CliError, CliResult};
use crate::file_io::{json_bytes, parse_output_of, read_input, read_text, write_output};
use crate::keys::key_ring;
use crate::now_ms;

/// Stamps the envelope read from `--in` under the context given by the arguments: a listed
/// context (`--recipient`), or with `--room-members` a room context committing to the members'
/// root (one stamp for the whole room; `--deliver-to` attaches that member's proof).
pub(crate) fn stamp(a: StampArgs) -> CliResult<()> {
    let remote = a.remote.client()?;
    let envelope = parse_output_of(&read_input(a.input.as_deref())?, "envelope")?;
    let timestamp_ms = a.timestamp_ms.unwrap_or_else(now_ms);
    let relay = match (&a.room_members, &a.room, a.epoch) {
        (Some(path), Some(room), Some(epoch)) => Some(RoomRelay::new(
            room.as_str(),
            epoch,
            member_lines(&read_text(path)?)?,
        )?),
        (Some(_), _, _) => {
            return Err(CliError::Usage(
                "--room-members needs --room and --epoch".into(),
            ));
        }
        (None, _, _) => None,
    };
    let ctx = match &relay {
        Some(r) => r.context(&a.network, &a.sender, timestamp_ms, &a.message_id)?,
        None => Context::new(
            a.network.clone(),
            a.sender,
            a.room,
            a.recipient,
            timestamp_ms,
            a.message_id,
        )?,
    };
    let mut delivered = match (&remote, &a.platform_key) {
        (Some(client), _) => client.stamp(envelope, ctx)?,
        (None, Some(path)) => stamp_envelope(&key_ring(path, &a.network)?, envelope, ctx)?,
        (None, None) => return Err(CliError::Usage("--platform-key or --server".into())),
    };
    if let (Some(r), Some(member)) = (&relay, &a.deliver_to) {
        delivered = r.deliver(&delivered, member)?;
    }
    write_output(a.out.as_deref(), &json_bytes(&delivered)?)
}

/// The member ids of a `--room-members` file: one per line (a final newline and `\r\n` line ends
/// are accepted); an empty line is a usage error.
fn member_lines(text: &str) -> CliResult<Vec<String>> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .map(|l| {
            if l.is_empty() {
                Err(CliError::Usage("--room-members: empty line".into()))
            } else {
                Ok(l.to_owned())
            }
        })
        .collect()
}
