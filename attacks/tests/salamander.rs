//! The JPEG/BMP salamander decrypts (with the real aes-gcm crate) to two valid images whose
//! pixels are exactly those of the unchanged input files.
#![allow(clippy::unwrap_used)]

use attacks::gcm::GcmKey;
use attacks::salamander::{build, side_by_side};

const JPG: &[u8] = include_bytes!("../testdata/innocent.jpg");
const BMP: &[u8] = include_bytes!("../testdata/abusive.bmp");

fn pixels(bytes: &[u8], fmt: image::ImageFormat) -> image::RgbaImage {
    image::load_from_memory_with_format(bytes, fmt)
        .unwrap()
        .to_rgba8()
}

fn check(k1: &[u8], k2: &[u8], ad: &[u8], tag: Option<[u8; 16]>) {
    let (k1, k2) = (
        GcmKey::from_slice(k1).unwrap(),
        GcmKey::from_slice(k2).unwrap(),
    );
    let s = build(&k1, &k2, JPG, BMP, ad, tag).unwrap();
    if let Some(t) = tag {
        assert_eq!(s.forgery.tag, t);
    }
    // Independent decryption with aes-gcm under both keys.
    let p1 = k1
        .open(&s.nonce, ad, &s.forgery.ciphertext, &s.forgery.tag)
        .unwrap();
    let p2 = k2
        .open(&s.nonce, ad, &s.forgery.ciphertext, &s.forgery.tag)
        .unwrap();
    assert_eq!(p1, s.plaintext1);
    assert_eq!(p2, s.plaintext2);
    assert_ne!(p1, p2);
    assert_eq!(&p1[..2], &[0xFF, 0xD8]);
    assert_eq!(&p2[..2], b"BM");
    // Key 1 decodes as the input JPEG's pixels, key 2 as the input BMP's pixels.
    assert_eq!(
        pixels(&p1, image::ImageFormat::Jpeg),
        pixels(JPG, image::ImageFormat::Jpeg)
    );
    assert_eq!(
        pixels(&p2, image::ImageFormat::Bmp),
        pixels(BMP, image::ImageFormat::Bmp)
    );
    // Format sniffing agrees with the intended type.
    assert_eq!(image::guess_format(&p1).unwrap(), image::ImageFormat::Jpeg);
    assert_eq!(image::guess_format(&p2).unwrap(), image::ImageFormat::Bmp);
    // A third key rejects.
    let k3 = GcmKey::from_slice(&[9u8; 16]).unwrap();
    assert!(
        k3.open(&s.nonce, ad, &s.forgery.ciphertext, &s.forgery.tag)
            .is_none()
    );
    let img = side_by_side(&p1, &p2).unwrap();
    assert!(img.width() > img.height());
}

#[test]
fn salamander_aes128_computed_tag() {
    check(&[1u8; 16], &[2u8; 16], b"", None);
}

#[test]
fn salamander_aes256_chosen_tag_with_ad() {
    check(
        &[0xA5u8; 32],
        &[0x3Cu8; 32],
        b"attachment-id:42",
        Some([4u8; 16]),
    );
}

#[test]
fn salamander_mixed_key_sizes() {
    check(&[7u8; 16], &[8u8; 32], b"x", None);
}

#[test]
fn salamander_rejects_bad_inputs() {
    let k1 = GcmKey::from_slice(&[1u8; 16]).unwrap();
    let k2 = GcmKey::from_slice(&[2u8; 16]).unwrap();
    assert!(matches!(
        build(&k1, &k2, BMP, BMP, b"", None),
        Err(attacks::Error::UnsupportedImage(_))
    ));
    assert!(matches!(
        build(&k1, &k2, JPG, JPG, b"", None),
        Err(attacks::Error::UnsupportedImage(_))
    ));
    assert!(matches!(
        build(&k1, &k1, JPG, BMP, b"", None),
        Err(attacks::Error::DuplicateHashKey { .. })
    ));
    // A BMP larger than one JPEG COM segment is a typed error, not a panic.
    let big = image::RgbImage::from_pixel(160, 160, image::Rgb([1, 2, 3]));
    let mut big_bmp = std::io::Cursor::new(Vec::new());
    big.write_to(&mut big_bmp, image::ImageFormat::Bmp).unwrap();
    assert!(big_bmp.get_ref().len() > 65535);
    assert!(matches!(
        build(&k1, &k2, JPG, big_bmp.get_ref(), b"", None),
        Err(attacks::Error::UnsupportedImage(_))
    ));
}
