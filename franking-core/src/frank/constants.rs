//! Every fixed length of the protocol and its formats, named once (cf. ed25519-dalek's
//! `constants.rs`). The `frank` module re-exports them.

/// Length of a CAEAD key (franking key K_f, session key, attachment key K_a) in bytes.
pub const KEY_LEN: usize = 32;
/// Length of a CAEAD nonce (body nonce N and wrap nonce N_w) in bytes.
pub const NONCE_LEN: usize = 12;
/// Length of every suite's CAEAD tag in bytes (body, key wrap, attachment segments).
pub const TAG_LEN: usize = 32;
/// Length of the commitment T (the body's CAEAD tag) in bytes.
pub const COMMITMENT_LEN: usize = TAG_LEN;
/// Length of the wrapped franking key W = C_w ‖ T_w (32-byte ciphertext, 32-byte tag).
pub const WRAPPED_KEY_LEN: usize = KEY_LEN + TAG_LEN;
/// Length of the domain-separation labels of the body and key-wrap associated data
/// (`"franking/v1 body\0"`, `"franking/v1 wrap\0"`).
pub const AD_LABEL_LEN: usize = 17;
/// Length of the version and suite bytes that follow a label.
pub const VERSION_SUITE_LEN: usize = 2;
/// Length of the key wrap's associated data `A_w = WRAP_AD_LABEL ‖ version ‖ suite ‖ T`.
pub const WRAP_AD_LEN: usize = AD_LABEL_LEN + VERSION_SUITE_LEN + COMMITMENT_LEN;
/// Length of the stamp label `"franking/v1 stamp\0"`.
pub const STAMP_LABEL_LEN: usize = 18;
/// Length of the HMAC-SHA-256 stamp tag.
pub const STAMP_MAC_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of an attachment's whole-file commitment (a BLAKE3 hash).
pub const ATTACHMENT_COMMITMENT_LEN: usize = 32;
/// Length of an attachment blob header.
pub const ATTACHMENT_HEADER_LEN: usize = 12;
