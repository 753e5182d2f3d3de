//! torchvision's ResNet-18/34 (basic blocks) and ResNet-50 (bottlenecks), with its key names.

use crate::error::Result;
use crate::input::weights::WeightMap;
use crate::models::layers::head_classes;
use crate::models::layers::{Loader, Padding};
use crate::models::network::LayerInfo;
use crate::models::zoo::cnn::{Act, Block, Classifier, Cnn};
use burn::tensor::Device;

const EPS: f32 = 1e-5;

pub fn build(map: &WeightMap, depth: usize, device: &Device) -> Result<Cnn> {
    let model = format!("ResNet-{depth}");
    let l = Loader {
        map,
        model: &model,
        device,
    };
    let (counts, bottleneck) = match depth {
        18 => ([2, 2, 2, 2], false),
        34 => ([3, 4, 6, 3], false),
        _ => ([3, 4, 6, 3], true),
    };
    let sym = Padding::Symmetric;
    let mut blocks = vec![Block::Seq(vec![
        Block::Conv(
            l.conv("conv1", Some(("bn1", EPS)), 3, 64, 7, 2, sym(3), 1)?,
            Act::Relu,
        ),
        Block::MaxPool(3, 2, 1),
    ])];
    let mut taps = vec![];
    let mut c_in = 64;
    let mut size = 56;
    let expansion = if bottleneck { 4 } else { 1 };
    for (stage, &count) in counts.iter().enumerate() {
        let width = 64 << stage;
        let mut layer = vec![];
        for b in 0..count {
            let p = format!("layer{}.{b}", stage + 1);
            let stride = if stage > 0 && b == 0 { 2 } else { 1 };
            let c_out = width * expansion;
            layer.push(residual(&l, &p, [c_in, width, c_out], stride, bottleneck)?);
            c_in = c_out;
        }
        if stage > 0 {
            size /= 2;
        }
        blocks.push(Block::Seq(layer));
        taps.push((
            LayerInfo {
                name: format!("layer{}", stage + 1),
                channels: c_in,
                height: size,
                width: size,
                note: None,
            },
            blocks.len() - 1,
        ));
    }
    let classes = head_classes(map, "fc.weight", c_in, &model)?;
    let fc = l.linear("fc", c_in, classes)?;
    Ok(Cnn {
        blocks,
        default_tap: 3,
        taps,
        classifier: Classifier::AvgFc(fc),
        // conv1's im2col columns on GPUs (3·7·7 × 112²) outgrow any activation.
        peak: 3 * 7 * 7 * 112 * 112,
        batch_late_layers: true,
        regions: Default::default(),
    })
}

/// Block `p` (`layer{stage}.{b}`): its convolutions with their batch norms folded in, and the
/// downsampling shortcut where the shape changes.
fn residual(
    l: &Loader,
    p: &str,
    [c_in, width, c_out]: [usize; 3],
    stride: usize,
    bottleneck: bool,
) -> Result<Block> {
    let sym = Padding::Symmetric;
    let conv = |i: usize, c_in, c_out, k, stride| {
        let bn = format!("{p}.bn{i}");
        l.conv(
            &format!("{p}.conv{i}"),
            Some((&bn, EPS)),
            c_in,
            c_out,
            k,
            stride,
            sym(k / 2),
            1,
        )
    };
    let convs = if bottleneck {
        vec![
            conv(1, c_in, width, 1, 1)?,
            conv(2, width, width, 3, stride)?,
            conv(3, width, c_out, 1, 1)?,
        ]
    } else {
        vec![
            conv(1, c_in, width, 3, stride)?,
            conv(2, width, width, 3, 1)?,
        ]
    };
    let downsample = if stride != 1 || c_in != c_out {
        Some(l.conv(
            &format!("{p}.downsample.0"),
            Some((&format!("{p}.downsample.1"), EPS)),
            c_in,
            c_out,
            1,
            stride,
            sym(0),
            1,
        )?)
    } else {
        None
    };
    Ok(Block::Residual { convs, downsample })
}
