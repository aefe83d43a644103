//! Multi-key collisions for ChaCha20-Poly1305 and XChaCha20-Poly1305: one ciphertext and tag
//! that decrypt (to different, pseudorandom plaintexts) under every one of k chosen keys.
//!
//! Source: Len, Grubbs, Ristenpart, "Partitioning Oracle Attacks", USENIX Security 2021, §3.2
//! ("Key multi-collisions for ChaCha20/Poly1305"); their code is `julialen/key_multicollision`.
//!
//! # Math
//! For key K_j and nonce N, ChaCha20 keystream block 0 gives the Poly1305 one-time key
//! (r_j, s_j) with r_j clamped (RFC 8439 §2.5–§2.8). With n ciphertext blocks X_0..X_{n−1}, all
//! full (so each block's Poly1305 value x_i = X_i + 2^128 lies in `[2^128, 2^129)`), the tag is
//!
//! ```text
//! T = ( Σ_i x_i · r_j^{e_i}  +  c_j   mod p )  + s_j   mod 2^128,    p = 2^130 − 5,
//! ```
//!
//! with `e_i = n − i + 1` and c_j the (known) contribution of the padded AD blocks and the
//! length block. Asking for the tag T under all k keys and taking the representative
//! `t_j = (T − s_j) mod 2^128` gives k linear equations over GF(p):
//! `Σ_i x_i r_j^{e_i} = t_j − c_j`. Unlike GCM (where any field element is a valid block), a
//! solution is only a *ciphertext* if every x_i lies in `[2^128, 2^129)`, which a random
//! element of GF(p) does with probability 2^128/p ≈ 1/4.
//!
//! We use n = k + 1 blocks: the last block y is free, the first k are solved for. With the
//! k×k system `A x = b − y·a` (A_{j,i} = r_j^{e_i}, a Vandermonde-type matrix, invertible
//! when the r_j are distinct and non-zero) solved once by Gaussian elimination, every
//! candidate is `x(y) = x0 + y·v`. We walk y = 2^128, 2^128+1, …: each step costs one field
//! addition for x_0(y), and the other components are computed only when the previous ones are
//! in range. The expected number of steps is ≈ (p/2^128)^k ≈ 4^k, so this reaches k = 10 in
//! about a second and k = 13 in tens of seconds (debug build); it is exponential in k. The paper's lattice
//! formulation (more free blocks, CVP on the solution lattice) is what scales beyond that; this
//! module does not implement lattice reduction.
//!
//! For XChaCha20-Poly1305 (24-byte nonce) only the one-time-key derivation changes (HChaCha20
//! subkey, then ChaCha20 with nonce `0^4 ‖ N[16..24]`); the same solver applies.
//!
//! Every result is verified with the real `chacha20poly1305` crate before it is returned.

use crate::error::{Error, Result};
use crate::poly1305::{Fe1305, OneTimeKey, aead_mac_data, chapoly_one_time_key};
use aead::{Aead, KeyInit, Payload};

/// Default bound on the number of candidates the search tries (≈ 4^16; about a minute).
pub const DEFAULT_MAX_TRIES: u64 = 1 << 32;

/// A ciphertext and tag that decrypt under every key given to [`collide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChapolyCollision {
    /// The ciphertext body (16·(k+1) bytes), without the tag.
    pub ciphertext: Vec<u8>,
    /// The Poly1305 tag shared by all keys.
    pub tag: [u8; 16],
    /// Number of candidates tried before every block fell in range.
    pub tries: u64,
}

impl ChapolyCollision {
    /// The ciphertext with the tag appended, as `chacha20poly1305`'s `Aead::decrypt` expects.
    pub fn ciphertext_and_tag(&self) -> Vec<u8> {
        crate::hexutil::append_tag(&self.ciphertext, &self.tag)
    }
}

/// Solves the square system `m · X = rhs` (m is k×k, rhs has `cols` right-hand sides) over
/// GF(2^130 − 5) by Gauss–Jordan elimination; `None` if `m` is singular.
fn solve(mut m: Vec<Vec<Fe1305>>, mut rhs: Vec<Vec<Fe1305>>) -> Option<Vec<Vec<Fe1305>>> {
    let k = m.len();
    for col in 0..k {
        let piv = (col..k).find(|&r| !m[r][col].is_zero())?;
        m.swap(col, piv);
        rhs.swap(col, piv);
        let inv = m[col][col].inverse()?;
        for x in m[col].iter_mut() {
            *x = x.fmul(inv);
        }
        for x in rhs[col].iter_mut() {
            *x = x.fmul(inv);
        }
        for r in 0..k {
            if r == col || m[r][col].is_zero() {
                continue;
            }
            let f = m[r][col];
            let pivot_row = m[col].clone();
            for (x, p) in m[r].iter_mut().zip(&pivot_row) {
                *x = x.fsub(p.fmul(f));
            }
            for c in 0..rhs[r].len() {
                let t = rhs[col][c].fmul(f);
                rhs[r][c] = rhs[r][c].fsub(t);
            }
        }
    }
    Some(rhs)
}

/// Builds one ciphertext (k+1 full blocks) and tag `target_tag` that verify under every key in
/// `keys` with this `nonce` and associated data `ad`; see the module docs for the math.
///
/// `nonce` is 12 bytes for ChaCha20-Poly1305 or 24 bytes for XChaCha20-Poly1305. Gives up with
/// [`Error::CollisionSearchExhausted`] after `max_tries` candidates. Fails with
/// [`Error::DuplicateOneTimeKey`] if two keys yield the same Poly1305 `r` (e.g. a repeated key).
pub fn collide(
    keys: &[[u8; 32]],
    nonce: &[u8],
    ad: &[u8],
    target_tag: [u8; 16],
    max_tries: u64,
) -> Result<ChapolyCollision> {
    let k = keys.len();
    if k < 2 {
        return Err(Error::TooFewKeys { needed: 2, got: k });
    }
    let n = k + 1;
    let ct_len = 16 * n;
    let otks = keys
        .iter()
        .map(|key| chapoly_one_time_key(key, nonce).map(|b| OneTimeKey::from_bytes(&b)))
        .collect::<Result<Vec<_>>>()?;
    for (i, a) in otks.iter().enumerate() {
        if a.r.is_zero() {
            return Err(Error::DuplicateOneTimeKey {
                first: i,
                second: i,
            });
        }
        if let Some(j) = otks[..i].iter().position(|b| b.r == a.r) {
            return Err(Error::DuplicateOneTimeKey {
                first: j,
                second: i,
            });
        }
    }
    let target = u128::from_le_bytes(target_tag);
    // c_j: the contribution of pad16(A) and of the length block, with the ciphertext zeroed out
    // of the sum (AD blocks carry exponent n + 1 + (their Horner exponent)).
    let mut len_block = [0u8; 16];
    len_block[..8].copy_from_slice(&(ad.len() as u64).to_le_bytes());
    len_block[8..].copy_from_slice(&(ct_len as u64).to_le_bytes());
    let len_fe = Fe1305::from_block(&len_block);

    let mut mat = Vec::with_capacity(k);
    let mut rhs = Vec::with_capacity(k);
    for otk in &otks {
        let r = otk.r;
        let mut ad_padded = ad.to_vec();
        ad_padded.resize(ad.len().div_ceil(16) * 16, 0);
        let c = otk
            .accumulate(&ad_padded)
            .fmul(r.pow(n as u64 + 1))
            .fadd(len_fe.fmul(r));
        let t = Fe1305::from_u128(target.wrapping_sub(otk.s));
        let b = t.fsub(c);
        // Powers r^{e_i}, e_i = n − i + 1, for the k solved blocks i = 0..k−1; the free block
        // i = k has exponent 2.
        let row: Vec<Fe1305> = (0..k).map(|i| r.pow((n - i + 1) as u64)).collect();
        let a_free = r.fmul(r);
        mat.push(row);
        rhs.push(vec![b, a_free.fneg()]);
    }
    let sol = solve(mat, rhs).ok_or(Error::SingularSystem)?;
    let x0: Vec<Fe1305> = sol.iter().map(|r| r[0]).collect();
    let v: Vec<Fe1305> = sol.iter().map(|r| r[1]).collect();

    // Walk y = 2^128 + t.
    let mut y_lo: u128 = 0;
    let y0 = Fe1305::from_wide(0, 1);
    let mut x_first = x0[0].fadd(y0.fmul(v[0]));
    let mut tries = 0u64;
    loop {
        if tries >= max_tries {
            return Err(Error::CollisionSearchExhausted { tries });
        }
        tries += 1;
        if x_first.is_block_value() {
            let y = Fe1305::from_wide(y_lo, 1);
            let mut blocks = Vec::with_capacity(n);
            blocks.push(x_first);
            let mut ok = true;
            for i in 1..k {
                let xi = x0[i].fadd(y.fmul(v[i]));
                if !xi.is_block_value() {
                    ok = false;
                    break;
                }
                blocks.push(xi);
            }
            if ok {
                blocks.push(y);
                let mut ciphertext = Vec::with_capacity(ct_len);
                for b in &blocks {
                    let bytes = b.to_block().ok_or(Error::SingularSystem)?;
                    ciphertext.extend_from_slice(&bytes);
                }
                let out = ChapolyCollision {
                    ciphertext,
                    tag: target_tag,
                    tries,
                };
                verify(keys, nonce, ad, &out.ciphertext, &out.tag)?;
                return Ok(out);
            }
        }
        y_lo = y_lo.wrapping_add(1);
        x_first = x_first.fadd(v[0]);
    }
}

/// Checks with our own Poly1305 that `tag` is the tag of (A, C) under every key; used as a
/// fast pre-check and as a cross-check of this module (the real crate is the judge).
pub fn own_tags_match(
    keys: &[[u8; 32]],
    nonce: &[u8],
    ad: &[u8],
    ct: &[u8],
    tag: &[u8; 16],
) -> Result<bool> {
    for key in keys {
        let otk = OneTimeKey::from_bytes(&chapoly_one_time_key(key, nonce)?);
        if &otk.tag(&aead_mac_data(ad, ct)) != tag {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Decrypts `ct ‖ tag` with the real RustCrypto `chacha20poly1305` crate
/// (`ChaCha20Poly1305` for a 12-byte nonce, `XChaCha20Poly1305` for 24 bytes).
pub fn open_with_crate(
    key: &[u8; 32],
    nonce: &[u8],
    ad: &[u8],
    ct_and_tag: &[u8],
) -> Result<Vec<u8>> {
    let payload = Payload {
        msg: ct_and_tag,
        aad: ad,
    };
    let res = match nonce.len() {
        12 => {
            let c = chacha20poly1305::ChaCha20Poly1305::new(key.into());
            let n = chacha20poly1305::Nonce::try_from(nonce).map_err(|_| {
                Error::InvalidNonceLength {
                    len: nonce.len(),
                    expected: "12",
                }
            })?;
            c.decrypt(&n, payload)
        }
        24 => {
            let c = chacha20poly1305::XChaCha20Poly1305::new(key.into());
            let n = chacha20poly1305::XNonce::try_from(nonce).map_err(|_| {
                Error::InvalidNonceLength {
                    len: nonce.len(),
                    expected: "24",
                }
            })?;
            c.decrypt(&n, payload)
        }
        len => {
            return Err(Error::InvalidNonceLength {
                len,
                expected: "12 (ChaCha20) or 24 (XChaCha20)",
            });
        }
    };
    res.map_err(|e| Error::Aead(format!("chacha20poly1305 rejected the ciphertext: {e}")))
}

/// Verifies with the real crate that `ct ‖ tag` opens under every key; the error names the
/// first key that rejects it.
pub fn verify(keys: &[[u8; 32]], nonce: &[u8], ad: &[u8], ct: &[u8], tag: &[u8; 16]) -> Result<()> {
    let mut buf = ct.to_vec();
    buf.extend_from_slice(tag);
    for (index, key) in keys.iter().enumerate() {
        open_with_crate(key, nonce, ad, &buf).map_err(|_| Error::SelfCheckFailed { index })?;
    }
    Ok(())
}
