//! AES-256-CTR with 96-bit nonces and a 32-bit block counter, laid out as in GCM.
//!
//! Spec (NIST SP 800-38A §6.5 counter mode with the counter blocks of SP 800-38D §7.1, GCM's `inc32`):
//!
//! ```text
//! CB_i = N ‖ be32(i)                                      N: 12 bytes, i = 0, 1, …, 2^32 − 2
//! C    = M ⊕ (AES-256(K_enc, CB_0) ‖ AES-256(K_enc, CB_1) ‖ …)[0..|M|]
//! ```
//!
//! Distinct nonces never share a counter block, so counters (or any other distinct nonces) are always
//! safe. Random nonces are safe while their collision probability is negligible: ≤ q²/2^97 for q
//! messages under one key — 2^-33 at 2^32 messages (NIST SP 800-38D §8.3's limit), 2^-41 at 2^28.
//! Franking uses a fresh key per message, so it never gets near that. Why not 16- or 24-byte nonces
//! with a per-nonce IV or key: enciphering the nonce costs one more AES call (≈ 50 ns here with the
//! VAES backend's per-call set-up) and a per-nonce key schedule ≈ 360 ns, against ≈ 190 ns for a whole
//! 64-byte AES-GCM seal; the 64-byte cost bar (≤ 1.5× AES-GCM) leaves no room for either.
//! `K_enc` is derived once per key by the scheme using this module; the commitment comes from the
//! scheme's tag.

use aead::inout::InOutBuf;
use aes::Aes256;
use cipher::{InnerIvInit, KeyInit, StreamCipherCore};

use crate::Error;

/// Nonce length in bytes.
pub(crate) const NONCE_LEN: usize = 12;

/// Longest message the schemes accept: 2^32 − 1 blocks (just under 64 GiB), the 32-bit counter's range.
pub(crate) const P_MAX: u64 = ((1 << 32) - 1) * 16;

type Ctr<'a> = ctr::CtrCore<&'a Aes256, ctr::flavors::Ctr32BE>;

/// The per-key state: the AES-256 key schedule of `K_enc`.
#[derive(Clone)]
pub(crate) struct NonceCtr {
    enc: Aes256,
}

impl NonceCtr {
    /// Set up for the keystream key `k_enc`.
    pub(crate) fn new(k_enc: &[u8; 32]) -> Self {
        Self {
            enc: Aes256::new(k_enc.into()),
        }
    }

    /// The keystream for `nonce`, for a message of `len` bytes (checked against [`P_MAX`]).
    pub(crate) fn stream(
        &self,
        nonce: &[u8; NONCE_LEN],
        len: usize,
    ) -> Result<Keystream<'_>, Error> {
        if len as u64 > P_MAX {
            return Err(Error::MessageTooLong {
                len: len as u64,
                max: P_MAX,
            });
        }
        let mut iv = aead::array::Array::<u8, aead::consts::U16>::default();
        iv[..NONCE_LEN].copy_from_slice(nonce);
        Ok(Keystream(Ctr::inner_iv_init(&self.enc, &iv)))
    }
}

/// A keystream whose total length was checked up front.
pub(crate) struct Keystream<'a>(Ctr<'a>);

impl Keystream<'_> {
    /// XOR the keystream into `buffer` in segments of `segment` bytes (a multiple of 16), calling
    /// `each` on every output segment right after it is produced, while it is still in cache.
    pub(crate) fn apply_segmented(
        mut self,
        mut buffer: InOutBuf<'_, '_, u8>,
        segment: usize,
        mut each: impl FnMut(&[u8]),
    ) {
        debug_assert!(segment.is_multiple_of(16) && segment > 0);
        while buffer.len() > segment {
            let (head, tail) = buffer.split_at(segment);
            let (mut blocks, _) = head.into_chunks::<aead::consts::U16>();
            self.0.apply_keystream_blocks_inout(blocks.reborrow());
            each(flatten(blocks.get_out()));
            buffer = tail;
        }
        let mut last = buffer;
        // `stream` checked the total length against P_MAX, the counter's range, so the only error
        // `try_apply_keystream_partial` reports (keystream exhausted) cannot occur here.
        let _ = self.0.try_apply_keystream_partial(last.reborrow());
        each(last.get_out());
    }

    /// XOR the keystream into the whole of `buffer`.
    pub(crate) fn apply(self, buffer: InOutBuf<'_, '_, u8>) {
        let _ = self.0.try_apply_keystream_partial(buffer);
    }
}

fn flatten(blocks: &[aead::array::Array<u8, aead::consts::U16>]) -> &[u8] {
    aead::array::Array::slice_as_flattened(blocks)
}
