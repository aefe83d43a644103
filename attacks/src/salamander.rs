//! Invisible salamanders: one AES-GCM ciphertext that decrypts to a JPEG under one key and
//! to a BMP under another, both valid images.
//!
//! Dodis, Grubbs, Ristenpart, Woodage, CRYPTO 2018 (eprint 2019/016), §3 (the attack on
//! Facebook's attachment franking); Albertini, Duong, Gueron, Kölbl, Luykx, Schmieg, "How to
//! Abuse and Fix Authenticated Encryption Without Key Commitment", USENIX Security 2022
//! (eprint 2020/1456), §4 (polyglot layouts, as in corkami/mitra's GCM tooling).
//!
//! Layout of the two plaintexts P1 = C ⊕ KS1 (JPEG) and P2 = C ⊕ KS2 (BMP):
//!
//! ```text
//! offset  0      2          6                 bmp_len   f            e          end
//! P1      FF D8 | FF FE L L | comment payload (garbage under key 1) ... | JPEG[2..]  |
//! P2      'B''M'| bfSize    | BMP[6..bmp_len]  | zero pad | free block(s) | garbage |
//! ```
//!
//! Bytes 0–1 must be FF D8 under key 1 and "BM" under key 2, so we search nonces until
//! KS1[0..2] ⊕ KS2[0..2] = FF D8 ⊕ "BM" (≈ 2^16 tries, two AES calls each). Bytes 2–5 are
//! the JPEG COM marker and length under key 1; under key 2 they are the BMP's bfSize field,
//! which BMP decoders ignore (they use the pixel-data offset and the DIB header). The JPEG COM
//! segment (length L = e − 4 ≤ 65535) hides the whole BMP plus the free GCM block(s); after
//! it comes the original JPEG minus its SOI, so a JPEG decoder sees exactly the input
//! image. A BMP decoder stops after the pixel array, so everything past `bmp_len` is ignored.
//! Finally one free block (computed tag) or two (chosen tag) are solved so that the tag is
//! the same under both keys ([`crate::gcm::collide_two`]). Neither input is re-encoded.

use crate::error::{Error, Result};
use crate::gcm::{Forgery, GcmKey, collide_two, collide_two_chosen_tag, verify_all};

/// Largest JPEG COM segment length field (it counts itself, so ≤ 65533 payload bytes).
const MAX_COM_LEN: usize = 0xFFFF;

/// A finished salamander: nonce, AD, ciphertext, tag and both verified decryptions.
#[derive(Clone, Debug)]
pub struct Salamander {
    /// The 96-bit nonce found by the search.
    pub nonce: [u8; 12],
    /// Associated data used.
    pub ad: Vec<u8>,
    /// Ciphertext (without tag) and tag.
    pub forgery: Forgery,
    /// Decryption under key 1 (a JPEG), as returned by `aes-gcm`.
    pub plaintext1: Vec<u8>,
    /// Decryption under key 2 (a BMP followed by ignored bytes), as returned by `aes-gcm`.
    pub plaintext2: Vec<u8>,
    /// Number of nonces tried.
    pub nonce_tries: u64,
}

fn check_jpeg(jpeg: &[u8]) -> Result<()> {
    if jpeg.len() < 4 || jpeg[..3] != [0xFF, 0xD8, 0xFF] {
        return Err(Error::UnsupportedImage(
            "image1 is not a JPEG (no FF D8 FF)".into(),
        ));
    }
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)?;
    Ok(())
}

fn check_bmp(bmp: &[u8]) -> Result<()> {
    if bmp.len() < 26 || &bmp[..2] != b"BM" {
        return Err(Error::UnsupportedImage(
            "image2 is not a BMP (no BM header)".into(),
        ));
    }
    image::load_from_memory_with_format(bmp, image::ImageFormat::Bmp)?;
    Ok(())
}

/// Finds the first nonce (counting up from `start`) whose keystreams satisfy
/// KS1[0..2] ⊕ KS2[0..2] = FF D8 ⊕ "BM". Returns the nonce and the number of tries.
fn search_nonce(k1: &GcmKey, k2: &GcmKey, start: u64, max_tries: u64) -> Result<([u8; 12], u64)> {
    let want = [0xFF ^ b'B', 0xD8 ^ b'M'];
    for i in 0..max_tries {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&start.wrapping_add(i).to_be_bytes());
        let mut a = [0u8; 2];
        let mut b = [0u8; 2];
        k1.apply_keystream(&nonce, &mut a);
        k2.apply_keystream(&nonce, &mut b);
        if [a[0] ^ b[0], a[1] ^ b[1]] == want {
            return Ok((nonce, i + 1));
        }
    }
    Err(Error::NonceSearchExhausted { tries: max_tries })
}

/// Builds the JPEG/BMP salamander for `jpeg` (shown under `k1`) and `bmp` (under `k2`).
///
/// `tag`: `None` solves one free block and computes the tag; `Some(t)` solves two free
/// blocks so the tag is exactly `t`. The result is verified with the real `aes-gcm` crate.
pub fn build(
    k1: &GcmKey,
    k2: &GcmKey,
    jpeg: &[u8],
    bmp: &[u8],
    ad: &[u8],
    tag: Option<[u8; 16]>,
) -> Result<Salamander> {
    if k1.hash_key() == k2.hash_key() {
        return Err(Error::DuplicateHashKey {
            first: 0,
            second: 1,
        });
    }
    check_jpeg(jpeg)?;
    check_bmp(bmp)?;
    let free_blocks = if tag.is_some() { 2 } else { 1 };
    let bmp_len = bmp.len();
    let f = bmp_len.div_ceil(16) * 16;
    let e = f + 16 * free_blocks;
    let com_len = e - 4;
    if com_len > MAX_COM_LEN {
        return Err(Error::UnsupportedImage(format!(
            "BMP of {bmp_len} bytes does not fit in one JPEG COM segment (max {} bytes)",
            MAX_COM_LEN + 4 - 16 * free_blocks
        )));
    }
    let total = e + jpeg.len() - 2;
    let (nonce, nonce_tries) = search_nonce(k1, k2, 0, 1 << 24)?;

    let mut ks1 = vec![0u8; total];
    let mut ks2 = vec![0u8; total];
    k1.apply_keystream(&nonce, &mut ks1);
    k2.apply_keystream(&nonce, &mut ks2);

    let mut ct = vec![0u8; total];
    // Bytes 0..6 from the JPEG view: FF D8 FF FE len_hi len_lo (0..2 also give "BM" under key 2).
    let head = [
        0xFF,
        0xD8,
        0xFF,
        0xFE,
        (com_len >> 8) as u8,
        (com_len & 0xFF) as u8,
    ];
    for i in 0..6 {
        ct[i] = head[i] ^ ks1[i];
    }
    // BMP body, then zero padding, as seen under key 2.
    for i in 6..f {
        let p2 = if i < bmp_len { bmp[i] } else { 0 };
        ct[i] = p2 ^ ks2[i];
    }
    // Free blocks stay zero for now; then the JPEG after its SOI, as seen under key 1.
    for (i, &b) in jpeg[2..].iter().enumerate() {
        ct[e + i] = b ^ ks1[e + i];
    }
    let forgery = match tag {
        None => collide_two(k1, k2, &nonce, ad, &ct, f / 16)?,
        Some(t) => collide_two_chosen_tag(k1, k2, &nonce, ad, &ct, (f / 16, f / 16 + 1), t)?,
    };
    let mut pts = verify_all(&[k1.clone(), k2.clone()], &nonce, ad, &forgery)?;
    let plaintext2 = pts.pop().ok_or(Error::SelfCheckFailed { index: 1 })?;
    let plaintext1 = pts.pop().ok_or(Error::SelfCheckFailed { index: 0 })?;
    Ok(Salamander {
        nonce,
        ad: ad.to_vec(),
        forgery,
        plaintext1,
        plaintext2,
        nonce_tries,
    })
}

/// Decodes both plaintexts and draws them side by side (nearest-neighbour upscaled to a
/// common height of at least 160 px) as an RGB image.
pub fn side_by_side(jpeg: &[u8], bmp: &[u8]) -> Result<image::RgbImage> {
    let a = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)?.to_rgb8();
    let b = image::load_from_memory_with_format(bmp, image::ImageFormat::Bmp)?.to_rgb8();
    let target_h = a.height().max(b.height()).max(160);
    let scale = |img: &image::RgbImage| {
        let w =
            (u64::from(img.width()) * u64::from(target_h) / u64::from(img.height().max(1))).max(1);
        let w = u32::try_from(w).unwrap_or(u32::MAX).min(4096);
        image::imageops::resize(img, w, target_h, image::imageops::FilterType::Nearest)
    };
    let (a, b) = (scale(&a), scale(&b));
    let gap = 16;
    let mut out = image::RgbImage::from_pixel(
        a.width() + gap + b.width(),
        target_h,
        image::Rgb([255, 255, 255]),
    );
    image::imageops::replace(&mut out, &a, 0, 0);
    image::imageops::replace(&mut out, &b, i64::from(a.width() + gap), 0);
    Ok(out)
}
