//! The sample photos shipped inside the binary (scikit-image's, CC0 / public domain; see
//! assets/NOTICE), so that camlens does its job at once on a machine with nothing else.

use image::RgbImage;

pub const SAMPLES: [(&str, &[u8]); 4] = [
    (
        "chelsea.png",
        include_bytes!("../../assets/samples/chelsea.png"),
    ),
    (
        "coffee.png",
        include_bytes!("../../assets/samples/coffee.png"),
    ),
    (
        "astronaut.png",
        include_bytes!("../../assets/samples/astronaut.png"),
    ),
    (
        "rocket.jpg",
        include_bytes!("../../assets/samples/rocket.jpg"),
    ),
];

/// Decodes one bundled sample.
pub fn decode(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes)
        .expect("bundled samples decode")
        .to_rgb8()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_sample_decodes() {
        for (name, bytes) in super::SAMPLES {
            let img = super::decode(bytes);
            assert!(img.width() > 100 && img.height() > 100, "{name}");
        }
    }
}
