//! The building blocks against straightforward references, on every CPU kernel path.

use super::*;
use crate::input::weights::RawTensor;

/// Largest absolute difference of two tensors of the same shape.
fn worst(a: Tensor<4>, b: Tensor<4>) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let a = crate::compute::tensor_io::to_vec(a).unwrap();
    let b = crate::compute::tensor_io::to_vec(b).unwrap();
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn the_cpu_kernels_equal_the_native_convolution_with_its_activations() {
    let device = Device::flex();
    let fill = |n: usize, f: f32| (0..n).map(|i| ((i as f32) * f).sin() * 4.0).collect();
    let mut map = WeightMap::default();
    for (name, shape) in [
        ("dw", vec![6, 1, 5, 5]),
        ("stem", vec![4, 3, 3, 3]),
        ("dense", vec![5, 6, 3, 3]),
        ("dense5", vec![5, 6, 5, 5]),
        ("ex", vec![6, 3, 1, 1]),
        ("ex.bias", vec![6]),
    ] {
        let n = shape.iter().product();
        let key = if name.contains('.') {
            name.to_string()
        } else {
            format!("{name}.weight")
        };
        map.tensors.insert(
            key,
            RawTensor {
                shape,
                data: fill(n, 0.61),
            },
        );
    }
    let l = Loader {
        map: &map,
        model: "test",
        device: &device,
    };
    let dw = l.conv("dw", None, 6, 6, 5, 2, Padding::TfSame, 6).unwrap();
    let stem = l
        .conv("stem", None, 3, 4, 3, 1, Padding::Symmetric(1), 1)
        .unwrap();
    let strided_stem = l
        .conv("stem", None, 3, 4, 3, 2, Padding::TfSame, 1)
        .unwrap();
    let dense = l
        .conv("dense", None, 6, 5, 3, 1, Padding::Symmetric(1), 1)
        .unwrap();
    let dense5 = l
        .conv("dense5", None, 6, 5, 5, 1, Padding::Symmetric(2), 1)
        .unwrap();
    let kind = |c: &Conv| c.host.as_ref().map(|h| h.kind);
    assert_eq!(kind(&dw), Some(HostKernel::Planes));
    assert_eq!(kind(&stem), Some(HostKernel::Planes));
    assert_eq!(kind(&strided_stem), Some(HostKernel::Im2col));
    assert_eq!(kind(&dense), Some(HostKernel::Winograd));
    assert_eq!(kind(&dense5), Some(HostKernel::Im2col));
    for (conv, c) in [
        (dw, 6),
        (stem, 3),
        (strided_stem, 3),
        (dense, 6),
        (dense5, 6),
    ] {
        let x: Tensor<4> = l.tensor(fill(2 * c * 13 * 12, 0.29), [2, c, 13, 12]);
        // The kernels sum in other orders: compare relative to the sums' size (up to ~10³).
        let plain = conv.clone().native_only().forward(x.clone());
        let scale = plain.abs().max().into_scalar::<f32>().max(1.0);
        for (before, after) in [(Act::None, Act::None), (Act::Relu6, Act::Relu6)] {
            let fused = conv.forward_between(x.clone(), &before, &after);
            let native = conv
                .clone()
                .native_only()
                .forward_between(x.clone(), &before, &after);
            let worst = worst(fused, native) / scale;
            assert!(
                worst < 1e-6,
                "{:?} {before:?} {after:?}: {worst}",
                kind(&conv)
            );
        }
    }
    // An expansion whose bias and ReLU6 the depthwise convolution applies as it reads.
    let ex = l.conv("ex", None, 3, 6, 1, 1, Padding::TfSame, 1).unwrap();
    let dw = l.conv("dw", None, 6, 6, 5, 1, Padding::TfSame, 6).unwrap();
    let x: Tensor<4> = l.tensor(fill(2 * 3 * 9 * 10, 0.23), [2, 3, 9, 10]);
    let fused = dw.forward_after(&ex, x.clone(), &Act::Relu6, &Act::Relu6);
    let native = dw.clone().native_only().forward_between(
        ex.clone().native_only().forward(x.clone()),
        &Act::Relu6,
        &Act::Relu6,
    );
    let unclamped = crate::compute::tensor_io::to_vec(native.clone()).unwrap();
    assert!(
        unclamped.iter().any(|&v| v > 0.0 && v < 6.0),
        "a test that clamps everything"
    );
    assert_eq!(kind(&ex), Some(HostKernel::Pointwise));
    let diff = worst(fused, native);
    assert!(diff < 1e-4, "expansion fused: {diff}");
    // The pointwise path alone, with and without its clamp.
    for after in [Act::None, Act::Relu6] {
        let host = ex.forward_act(x.clone(), &after);
        let native = ex.clone().native_only().forward_act(x.clone(), &after);
        let diff = worst(host, native);
        assert!(diff < 1e-5, "pointwise {after:?}: {diff}");
    }
}

#[test]
fn the_matmul_path_equals_the_native_convolution() {
    let device = Device::flex();
    let mut map = WeightMap::default();
    let fill = |n: usize, f: f32| (0..n).map(|i| ((i as f32) * f).sin()).collect::<Vec<_>>();
    map.tensors.insert(
        "c.weight".into(),
        RawTensor {
            shape: vec![5, 3, 3, 3],
            data: fill(135, 0.37),
        },
    );
    map.tensors.insert(
        "c.bias".into(),
        RawTensor {
            shape: vec![5],
            data: fill(5, 1.1),
        },
    );
    let l = Loader {
        map: &map,
        model: "test",
        device: &device,
    };
    let x = l.tensor(fill(2 * 3 * 11 * 10, 0.13), [2, 3, 11, 10]);
    for (stride, padding) in [
        (1, Padding::Symmetric(1)),
        (2, Padding::Symmetric(1)),
        (2, Padding::TfSame),
        (1, Padding::Symmetric(0)),
    ] {
        let conv = l.conv("c", None, 3, 5, 3, stride, padding, 1).unwrap();
        let native = conv
            .clone()
            .native_only()
            .with_gemm(false)
            .forward(x.clone());
        let gemm = conv.native_only().with_gemm(true).forward(x.clone());
        let worst = worst(native, gemm);
        assert!(worst < 1e-4, "{stride} {padding:?}: {worst}");
    }
}
