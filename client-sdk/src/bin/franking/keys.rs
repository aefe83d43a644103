//! Key files: `franking keygen`, and loading session and platform keys for the other commands.

use std::path::Path;

use client_sdk::frank::{KeyId, KeyRing, SessionKey, StampKey};
use client_sdk::{Conversation, keys};
use zeroize::Zeroizing;

use crate::cli::{KeyKind, KeygenArgs, SessionArgs};
use crate::error::CliResult;
use crate::file_io::{read_text, write_output};

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

/// A key ring holding the one platform key of the key file `path`.
pub(crate) fn key_ring(path: &Path) -> CliResult<KeyRing> {
    let json = Zeroizing::new(read_text(path)?);
    Ok(KeyRing::new(keys::platform_key_from_json(&json)?, 0))
}
