//! Encrypt-then-MAC over [`NonceCtr`], shared by [`super::CtrHmacSha256`] and
//! [`super::Aes256CtrBlake3`]: the two differ only in how the 32-byte tag is computed.
//!
//! Sealing interleaves the keystream and the tag hash segment by segment, so a long message is read
//! from cache once instead of twice. Opening hashes the whole ciphertext, compares tags in constant
//! time, and only then decrypts: no plaintext byte is produced unless the tag verifies.

use aead::inout::InOutBuf;
use subtle::ConstantTimeEq;

use super::nonce_ctr::{NONCE_LEN, NonceCtr};
use crate::Error;

/// Bytes encrypted and hashed per step while sealing: small enough to still be in L2 cache when
/// hashed, large enough that BLAKE3 hashes most of each segment in wide (16-chunk) SIMD subtrees.
/// 16 KiB and 64 KiB segments measured slower (each `update` re-hashes its last chunk serially).
const SEGMENT: usize = 256 * 1024;

/// A streaming tag computation over (N, A, C).
pub(crate) trait TagHasher {
    /// Hash state for one message.
    type State;
    /// Start the tag for one message.
    fn begin(&self, nonce: &[u8; NONCE_LEN], ad: &[u8]) -> Self::State;
    /// Absorb the next ciphertext bytes.
    fn absorb(state: &mut Self::State, ciphertext: &[u8]);
    /// Finish the tag. Takes the state by reference: a BLAKE3 hasher is ~1.9 KB, and moving it
    /// measurably slows 64-byte messages.
    fn finish(
        &self,
        state: &mut Self::State,
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        ct_len: u64,
    ) -> [u8; 32];
}

/// Encrypt `buffer` in place (or in→out) and return the tag.
pub(crate) fn seal<H: TagHasher>(
    ctr: &NonceCtr,
    mac: &H,
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    buffer: InOutBuf<'_, '_, u8>,
) -> Result<[u8; 32], Error> {
    let len = buffer.len();
    let keystream = ctr.stream(nonce, len)?;
    let mut state = mac.begin(nonce, ad);
    keystream.apply_segmented(buffer, SEGMENT, |ct| H::absorb(&mut state, ct));
    Ok(mac.finish(&mut state, nonce, ad, len as u64))
}

/// Verify `tag` over the ciphertext in `buffer`, then decrypt it. On failure nothing is decrypted.
pub(crate) fn open<H: TagHasher>(
    ctr: &NonceCtr,
    mac: &H,
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    buffer: InOutBuf<'_, '_, u8>,
    tag: &[u8],
) -> Result<(), Error> {
    let keystream = ctr.stream(nonce, buffer.len())?;
    let mut state = mac.begin(nonce, ad);
    H::absorb(&mut state, buffer.get_in());
    let expected = mac.finish(&mut state, nonce, ad, buffer.len() as u64);
    if !bool::from(expected.ct_eq(tag)) {
        return Err(Error::AuthenticationFailed);
    }
    keystream.apply(buffer);
    Ok(())
}

/// Implement `aead::KeyInit`'s siblings for an encrypt-then-MAC scheme: `AeadCore` and `AeadInOut`
/// forwarding to [`seal`] and [`open`], plus opaque `Debug` and `ZeroizeOnDrop`.
macro_rules! impl_etm_aead {
    ($ty:ty) => {
        impl aead::AeadCore for $ty {
            type NonceSize = aead::consts::U12;
            type TagSize = aead::consts::U32;
            const TAG_POSITION: aead::TagPosition = aead::TagPosition::Postfix;
        }

        impl aead::AeadInOut for $ty {
            fn encrypt_inout_detached(
                &self,
                nonce: &aead::Nonce<Self>,
                associated_data: &[u8],
                buffer: aead::inout::InOutBuf<'_, '_, u8>,
            ) -> aead::Result<aead::Tag<Self>> {
                $crate::caead::etm::seal(&self.ctr, &self.mac, &nonce.0, associated_data, buffer)
                    .map(aead::Tag::<Self>::from)
                    .map_err(|_| aead::Error)
            }

            fn decrypt_inout_detached(
                &self,
                nonce: &aead::Nonce<Self>,
                associated_data: &[u8],
                buffer: aead::inout::InOutBuf<'_, '_, u8>,
                tag: &aead::Tag<Self>,
            ) -> aead::Result<()> {
                $crate::caead::etm::open(
                    &self.ctr,
                    &self.mac,
                    &nonce.0,
                    associated_data,
                    buffer,
                    tag.as_slice(),
                )
                .map_err(|_| aead::Error)
            }
        }

        impl core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($ty), " { .. }"))
            }
        }

        impl zeroize::ZeroizeOnDrop for $ty {}
    };
}
pub(crate) use impl_etm_aead;
