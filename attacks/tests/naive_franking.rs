//! Regression: Facebook-style "naive" franking of attachments over plain AES-GCM is broken by
//! an invisible salamander (Dodis–Grubbs–Ristenpart–Woodage, CRYPTO 2018, eprint 2019/016,
//! §3). Self-contained model, independent of franking-core:
//!
//! * the sender uploads one AES-GCM ciphertext (nonce, C, T); the platform's relay stamps
//!   the ciphertext it saw: stamp = HMAC-SHA-256(K_platform, "stamp" ‖ N ‖ C ‖ T);
//! * the sender gives the recipient key1 inside the E2E channel: the recipient decrypts and
//!   sees image 1 (innocent);
//! * the report reveals a key (the sender can make the recipient's client hold key2, or the
//!   recipient may report key2); the platform checks the stamp and that the revealed key
//!   decrypts the stamped ciphertext, then the moderator looks at the decryption.
//!
//! The report verifies, yet the content the moderator sees differs from what the recipient saw
//! (the sender can also do it the other way round to frame the recipient or evade reports).
#![allow(clippy::unwrap_used)]

use attacks::gcm::GcmKey;
use attacks::salamander::build;
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

const JPG: &[u8] = include_bytes!("../testdata/innocent.jpg");
const BMP: &[u8] = include_bytes!("../testdata/abusive.bmp");

fn stamp(kp: &[u8], nonce: &[u8], ct: &[u8], tag: &[u8]) -> Vec<u8> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(kp).unwrap();
    m.update(b"stamp");
    m.update(nonce);
    m.update(ct);
    m.update(tag);
    m.finalize().into_bytes().to_vec()
}

/// Platform-side report check of the naive scheme: stamp valid and the key opens the ciphertext.
fn verify_report(
    kp: &[u8],
    s: &[u8],
    key: &GcmKey,
    nonce: &[u8; 12],
    ct: &[u8],
    tag: &[u8; 16],
) -> Option<Vec<u8>> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(kp).unwrap();
    m.update(b"stamp");
    m.update(nonce);
    m.update(ct);
    m.update(tag);
    m.verify_slice(s).ok()?;
    key.open(nonce, b"", ct, tag)
}

#[test]
fn naive_aes_gcm_franking_report_verifies_with_different_content() {
    let kp = [0x77u8; 32];
    let key1 = GcmKey::from_slice(&[0x11; 32]).unwrap();
    let key2 = GcmKey::from_slice(&[0x22; 32]).unwrap();
    let s = build(&key1, &key2, JPG, BMP, b"", None).unwrap();
    let (ct, tag) = (&s.forgery.ciphertext, &s.forgery.tag);
    let st = stamp(&kp, &s.nonce, ct, tag);

    // Recipient's view (real aes-gcm): the innocent JPEG.
    let seen = key1.open(&s.nonce, b"", ct, tag).unwrap();
    let seen_img = image::load_from_memory_with_format(&seen, image::ImageFormat::Jpeg).unwrap();

    // Report with key2: the platform accepts it …
    let reported = verify_report(&kp, &st, &key2, &s.nonce, ct, tag).expect("report verifies");
    let reported_img =
        image::load_from_memory_with_format(&reported, image::ImageFormat::Bmp).unwrap();
    // … but the moderator sees different content from what the recipient was shown.
    assert_ne!(seen, reported);
    assert_ne!(seen_img.to_rgba8(), reported_img.to_rgba8());
    // Report with key1 verifies too: both "openings" of one stamped commitment are accepted.
    assert!(verify_report(&kp, &st, &key1, &s.nonce, ct, tag).is_some());
    // Sanity: a tampered stamp or an unrelated key is rejected, so the check can fail.
    let mut bad = st.clone();
    bad[0] ^= 1;
    assert!(verify_report(&kp, &bad, &key2, &s.nonce, ct, tag).is_none());
    let other = GcmKey::from_slice(&[0x33; 32]).unwrap();
    assert!(verify_report(&kp, &st, &other, &s.nonce, ct, tag).is_none());
}
