//! Regenerates the two small test images in `attacks/testdata/` (see its README).
//!
//! Run: `cargo run -p attacks --example make_test_images`
#![allow(clippy::unwrap_used)]

use image::{Rgb, RgbImage};

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    // "Innocent" picture for key 1: a blue/green gradient with a white sun, 64×40 JPEG.
    let jpg = RgbImage::from_fn(64, 40, |x, y| {
        let (dx, dy) = (x as i32 - 46, y as i32 - 12);
        if dx * dx + dy * dy < 60 {
            Rgb([255, 240, 160])
        } else {
            Rgb([20 + 2 * x as u8, 80 + 3 * y as u8, 200])
        }
    });
    let mut f = std::fs::File::create(dir.join("innocent.jpg")).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 80)
        .encode_image(&jpg)
        .unwrap();
    // "Abusive" picture for key 2: a red cross on black, 24×16 24-bit BMP.
    let bmp = RgbImage::from_fn(24, 16, |x, y| {
        if (10..14).contains(&x) || (6..10).contains(&y) {
            Rgb([230, 20, 20])
        } else {
            Rgb([(x * 3) as u8, 0, (y * 5) as u8])
        }
    });
    bmp.save_with_format(dir.join("abusive.bmp"), image::ImageFormat::Bmp)
        .unwrap();
    println!("wrote {}", dir.display());
}
