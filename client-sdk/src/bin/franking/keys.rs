//! Key files: `franking keygen`, and loading session and platform keys for the other commands.

use std::path::Path;

use client_sdk::frank::{KeyId, KeyRing, SessionKey, StampKey};
use client_sdk::{Conversation, keys};
use zeroize::Zeroizing;

use crate::cli::{KeyKind, KeygenArgs, PublishArgs, SessionArgs};
use crate::error::{CliError, CliResult};
use crate::file_io::{json_bytes, read_text, write_output};
use crate::now_ms;

/// `franking keygen`: a new session or platform key file.
pub(crate) fn keygen(a: KeygenArgs) -> CliResult<()> {
    let text = match a.kind {
        KeyKind::Session => keys::session_key_to_json(&SessionKey::generate()?)?,
        KeyKind::Platform => {
            keys::platform_key_to_json(&StampKey::generate(KeyId(a.key_id), a.sign)?)?
        }
    };
    let text = Zeroizing::new(text + "\n");
    write_output(a.out.as_deref(), text.as_bytes())
}

/// The conversation named by `--session-key` and `--conversation`.
pub(crate) fn conversation(s: &SessionArgs) -> CliResult<Conversation> {
    let json = Zeroizing::new(read_text(&s.session_key)?);
    let key = keys::session_key_from_json(&json)?;
    Ok(Conversation::new(s.conversation.clone(), key))
}

/// The platform key of the key file `path`.
fn platform_key(path: &Path) -> CliResult<StampKey> {
    let json = Zeroizing::new(read_text(path)?);
    Ok(keys::platform_key_from_json(&json)?)
}

/// A key ring of `network` holding the one platform key of the key file `path`.
pub(crate) fn key_ring(path: &Path, network: &str) -> CliResult<KeyRing> {
    Ok(KeyRing::new(network, platform_key(path)?, 0, 0))
}

/// `franking publish`: the published record of a signing platform key.
pub(crate) fn publish(a: PublishArgs) -> CliResult<()> {
    let created_at = a.created_at_ms.unwrap_or_else(now_ms);
    let ring = KeyRing::new(a.network, platform_key(&a.platform_key)?, created_at, 0);
    let published = ring.published_keys();
    if published.is_empty() {
        return Err(CliError::Usage(
            "the platform key does not sign (keygen platform --sign)".into(),
        ));
    }
    write_output(a.out.as_deref(), &json_bytes(&published)?)
}
