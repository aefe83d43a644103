//! The one implementation of secret key bytes behind every key type of the crate ([`Opening`],
//! [`SessionKey`], [`AttachmentKey`], [`StampKey`]'s MAC key): wiped on drop, compared in constant
//! time, never printed.
//!
//! [`Opening`]: crate::frank::Opening
//! [`SessionKey`]: crate::frank::SessionKey
//! [`AttachmentKey`]: crate::frank::attachment::AttachmentKey
//! [`StampKey`]: crate::frank::StampKey

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::util::random_array;

/// `N` secret bytes.
#[derive(Clone)]
pub(crate) struct SecretBytes<const N: usize>(Zeroizing<[u8; N]>);

impl<const N: usize> SecretBytes<N> {
    /// Wrap key bytes.
    pub(crate) fn from_bytes(bytes: [u8; N]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Take ownership of bytes already in a wiped buffer.
    pub(crate) fn from_zeroizing(bytes: Zeroizing<[u8; N]>) -> Self {
        Self(bytes)
    }

    /// Fresh bytes from the operating system's CSPRNG.
    pub(crate) fn generate() -> Result<Self, Error> {
        Ok(Self(random_array::<N>()?))
    }

    /// The secret bytes.
    pub(crate) fn expose(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> core::fmt::Debug for SecretBytes<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<const N: usize> PartialEq for SecretBytes<N> {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&*other.0))
    }
}

impl<const N: usize> Eq for SecretBytes<N> {}

impl<const N: usize> zeroize::ZeroizeOnDrop for SecretBytes<N> {}
