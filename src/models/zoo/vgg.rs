//! torchvision's VGG-16/19 (and the `_bn` variants). Every ReLU and max-pool of `features` is a
//! target layer under torchvision's own index (`features.36` is VGG-19's last max-pool).

use crate::error::Result;
use crate::input::weights::WeightMap;
use crate::models::layers::head_classes;
use crate::models::layers::{Loader, Padding};
use crate::models::network::LayerInfo;
use crate::models::zoo::cnn::{Act, Block, Classifier, Cnn};
use burn::tensor::Device;

const POOL: usize = 0;
const VGG16: [usize; 18] = [
    64, 64, POOL, 128, 128, POOL, 256, 256, 256, POOL, 512, 512, 512, POOL, 512, 512, 512, POOL,
];
const VGG19: [usize; 21] = [
    64, 64, POOL, 128, 128, POOL, 256, 256, 256, 256, POOL, 512, 512, 512, 512, POOL, 512, 512,
    512, 512, POOL,
];

pub fn build(map: &WeightMap, depth: usize, bn: bool, device: &Device) -> Result<Cnn> {
    let model = format!("VGG-{depth}{}", if bn { "_bn" } else { "" });
    let l = Loader {
        map,
        model: &model,
        device,
    };
    let cfg: &[usize] = if depth == 16 { &VGG16 } else { &VGG19 };
    let mut blocks = vec![];
    let mut taps = vec![];
    let mut index = 0; // torchvision's module index inside `features`
    let mut c_in = 3;
    let mut size = 224;
    for &c in cfg {
        if c == POOL {
            blocks.push(Block::MaxPool(2, 2, 0));
            size /= 2;
        } else {
            let bn_name = format!("features.{}", index + 1);
            let conv = l.conv(
                &format!("features.{index}"),
                bn.then_some((bn_name.as_str(), 1e-5)),
                c_in,
                c,
                3,
                1,
                Padding::Symmetric(1),
                1,
            )?;
            // The conv (and BN) are not target layers: the ReLU after them is.
            blocks.push(Block::Conv(conv, Act::None));
            index += if bn { 2 } else { 1 };
            blocks.push(Block::Relu);
            c_in = c;
        }
        taps.push((
            LayerInfo {
                name: format!("features.{index}"),
                channels: c_in,
                height: size,
                width: size,
                note: None,
            },
            blocks.len() - 1,
        ));
        index += 1;
    }
    let classes = head_classes(map, "classifier.6.weight", 4096, &model)?;
    let classifier = Classifier::Vgg([
        l.linear("classifier.0", 512 * 7 * 7, 4096)?,
        l.linear("classifier.3", 4096, 4096)?,
        l.linear("classifier.6", 4096, classes)?,
    ]);
    Ok(Cnn {
        blocks,
        default_tap: taps.len() - 1,
        taps,
        classifier,
        // The im2col path is capped at 4M floats per input (layers.rs), above the activations.
        peak: 4 << 20,
        batch_late_layers: true,
        regions: Default::default(),
    })
}
