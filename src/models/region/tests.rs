//! The region pass against the whole pass, on the shipped Lite0's weights.

use super::*;
use crate::input::weights::WeightMap;
use crate::models::zoo::lite0;
use burn::tensor::Device;
use std::path::Path;

#[test]
fn spans_are_the_outputs_that_see_them_and_the_inputs_those_read() {
    for kernel in [1, 2, 3, 5, 7] {
        for stride in [1, 2] {
            if kernel < stride {
                continue;
            }
            for n in [1, 6, 7, 12] {
                for pad in 0..kernel {
                    if n + pad < kernel {
                        continue;
                    }
                    let out = (n + pad + (kernel - 1).min(pad + 1) - kernel) / stride + 1;
                    // Window of output o: inputs o·stride − pad .. + kernel.
                    let window = |o: usize| {
                        let first = (o * stride) as isize - pad as isize;
                        first..first + kernel as isize
                    };
                    for lo in 0..n {
                        for len in 1..=n - lo {
                            let s = Span { lo, len };
                            let want: Vec<usize> = (0..out)
                                .filter(|&o| {
                                    window(o).any(|i| i >= lo as isize && i < s.end() as isize)
                                })
                                .collect();
                            let got = s.seen_by(kernel, stride, pad, out);
                            assert_eq!(
                                (got.lo..got.end()).collect::<Vec<_>>(),
                                want,
                                "k{kernel} s{stride} p{pad} n{n} {s:?}"
                            );
                            let (read, (before, after)) = got.read_by(kernel, stride, pad, n);
                            let first = window(got.lo).start;
                            let last = window(got.end() - 1).end - 1;
                            assert_eq!(read.lo as isize, first.max(0));
                            assert_eq!(read.end() as isize - 1, last.min(n as isize - 1));
                            assert_eq!(before as isize, (-first).max(0));
                            assert_eq!(after as isize, (last - (n as isize - 1)).max(0));
                            assert!(read.lo <= s.lo && read.end() >= s.end().min(n));
                        }
                    }
                }
            }
        }
    }
}

/// The tensors a fixture lists, He-scaled sines for weights, a plain BatchNorm.
fn noise_map(arch: &str) -> WeightMap {
    #[derive(serde::Deserialize)]
    struct Keys {
        keys: Vec<(String, Vec<usize>)>,
    }
    let path = format!(
        "{}/tests/fixtures/models/{arch}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let keys: Keys = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut map = WeightMap::default();
    for (i, (name, shape)) in keys.keys.into_iter().enumerate() {
        let n: usize = shape.iter().product();
        let fan_in = n / shape[0];
        let scale = (6.0 / fan_in as f32).sqrt();
        let data = (0..n)
            .map(|j| match () {
                _ if name.ends_with("running_var") || name.ends_with("bn1.weight") => 1.0,
                _ if name.contains("running_mean") => 0.0,
                _ if shape.len() == 1 => 0.1 * ((j * 7 + i) as f32 * 0.37).sin(),
                _ => scale * ((j * 13 + i * 101) as f32 * 0.7311).sin(),
            })
            .collect();
        map.tensors
            .insert(name, crate::input::weights::RawTensor { shape, data });
    }
    map
}

fn lite0() -> crate::models::zoo::cnn::Cnn {
    let map =
        WeightMap::from_safetensors(crate::models::model::LITE0_SAFETENSORS, Path::new("lite0"))
            .unwrap();
    lite0::build(&map, &Device::flex()).unwrap()
}

/// A photo-like input, zero outside rows `r` and columns `c`.
fn masked(r: std::ops::Range<usize>, c: std::ops::Range<usize>) -> Tensor<4> {
    let mut data = vec![0.0f32; 3 * 224 * 224];
    for ch in 0..3 {
        for y in r.clone() {
            for x in c.clone() {
                let v = ((y * 7 + x * 3 + ch * 11) as f32 * 0.05).sin()
                    + ((x as f32 - 100.0) / 60.0).tanh();
                data[(ch * 224 + y) * 224 + x] = v;
            }
        }
    }
    Tensor::from_data(TensorData::new(data, [1, 3, 224, 224]), &Device::flex())
}

fn floats(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

#[test]
fn a_pass_on_the_non_zero_rectangle_equals_the_whole_pass() {
    let net = lite0();
    let traces = Traces::default();
    // Inside, against each edge (TensorFlow's "SAME" pads stride 2 after, not before), odd
    // and even offsets, one pixel, one row.
    let cases = [
        (60..130, 41..150),
        (0..70, 0..90),
        (150..224, 131..224),
        (0..224, 100..101),
        (33..34, 77..78),
        (223..224, 0..224),
        (97..160, 0..3),
    ];
    for (rows, cols) in cases {
        let x = masked(rows.clone(), cols.clone());
        let (worst, next) = worst_difference(&net.blocks, x, &traces);
        assert!(next > 0, "{rows:?} × {cols:?}: the region pass ran");
        assert!(
            worst <= 1e-5,
            "{rows:?} × {cols:?}: {worst} of the range after block {next}"
        );
    }
}

/// The region pass over `blocks` then the rest, against the whole pass over them.
fn worst_difference(blocks: &[Block], x: Tensor<4>, traces: &Traces) -> (f32, usize) {
    let whole = blocks.iter().fold(x.clone(), |x, b| b.forward(x));
    let (part, next) = run(blocks, x, traces);
    let part = blocks[next..].iter().fold(part, |x, b| b.forward(x));
    let (want, got) = (floats(whole), floats(part));
    let range = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = want
        .iter()
        .zip(&got)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    (worst / range, next)
}

/// ResNet's stem, max pool and residual blocks; VGG's convolutions, ReLUs and pools (as far
/// as 28×28, where a batch's late layers take over); a block it cannot take ends it.
#[test]
fn resnet_and_vgg_blocks_on_a_rectangle_equal_the_whole_pass() {
    let device = Device::flex();
    let resnet = crate::models::zoo::resnet::build(&noise_map("resnet18"), 18, &device).unwrap();
    let vgg = crate::models::zoo::vgg::build(&noise_map("vgg19"), 19, false, &device).unwrap();
    let traces = (Traces::default(), Traces::default());
    for (rows, cols) in [(60..130, 41..150), (0..70, 150..224), (33..34, 77..78)] {
        let x = masked(rows.clone(), cols.clone());
        // Stem and pool, layer1, then layer2, whose stride-2 1×1 shortcut ends the region.
        let (worst, next) = worst_difference(&resnet.blocks[..3], x.clone(), &traces.0);
        assert!(
            worst <= 1e-5,
            "ResNet {rows:?} × {cols:?}: {worst} of the range"
        );
        assert_eq!(next, 2, "layer2 runs whole");
        // VGG-19 up to its 56×56 pool.
        let (worst, next) = worst_difference(&vgg.blocks[..15], x, &traces.1);
        assert!(
            worst <= 1e-5,
            "VGG {rows:?} × {cols:?}: {worst} of the range"
        );
        assert!(next > 0, "the region pass ran");
    }
}

#[test]
fn inputs_zero_nowhere_or_everywhere_take_the_whole_pass() {
    let net = lite0();
    let traces = Traces::default();
    let (_, next) = run(&net.blocks, masked(0..224, 0..224), &traces);
    assert_eq!(next, 0, "nothing to save");
    let (_, next) = run(&net.blocks, masked(0..0, 0..0), &traces);
    assert_eq!(next, 0, "all zero");
    let (_, next) = run(&net.blocks, masked(5..224, 0..224), &traces);
    assert_eq!(next, 0, "above the share worth a region pass");
}
