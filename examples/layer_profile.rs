//! Developer measurement: where a forward pass of the built-in Lite0 spends its time on the CPU,
//! per block and per convolution, one input at a time on one pool thread (as ScoreCAM++'s
//! masked inputs run). Each figure is the fastest of RUNS: this machine shares its cores, and
//! means drift by ±30 % from minute to minute. The per-convolution figures run each layer on
//! its own, on a shared input, so they include a copy of that input the block itself avoids.
//!
//!     cargo run --release --example layer_profile -- [RUNS]
//!
//! With `PEAK=1` it instead prints gemm's single-core speed on a square product and on Lite0's
//! 1×1 shapes (what the pointwise layers could reach at best).

use burn::tensor::{Device, Distribution, Tensor};
use camlens::input::weights::WeightMap;
use camlens::models::zoo::cnn::{Act, Block};
use camlens::models::zoo::lite0;
use std::path::Path;
use std::time::Instant;

fn main() -> camlens::Result<()> {
    camlens::compute::device::tune_allocator();
    if std::env::var("PEAK").is_ok() {
        gemm_peak();
        return Ok(());
    }
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let device = Device::flex();
    let map = WeightMap::load(Path::new("models/efficientnet-lite0-57934424.pth"))?;
    let net = lite0::build(&map, &device)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        let mut x: Tensor<4> =
            Tensor::random([1, 3, 224, 224], Distribution::Uniform(-1.0, 1.0), &device);
        let mut total = 0.0;
        for (i, b) in net.blocks.iter().enumerate() {
            let _ = b.forward(x.clone()).into_data();
            // The fastest of the runs: this machine shares its cores, and the mean is noise.
            let mut y = None;
            let mut ms = f64::INFINITY;
            for _ in 0..runs {
                let t = Instant::now();
                y = Some(b.forward(x.clone()));
                ms = ms.min(t.elapsed().as_secs_f64() * 1e3);
            }
            total += ms;
            let kind = match b {
                Block::Conv(..) => "conv".to_string(),
                Block::MbConv { expand, .. } => format!("mbconv expand={}", expand.is_some()),
                _ => "other".into(),
            };
            let y = y.unwrap();
            println!(
                "{i:2} {kind:40} in {:?} out {:?}: {ms:.3} ms",
                x.dims(),
                y.dims()
            );
            if let Block::MbConv {
                expand: Some(e),
                depthwise,
                project,
                ..
            } = b
            {
                let time = |f: &dyn Fn() -> Tensor<4>| {
                    (0..runs)
                        .map(|_| {
                            let t = Instant::now();
                            let _ = f();
                            t.elapsed().as_secs_f64() * 1e3
                        })
                        .fold(f64::INFINITY, f64::min)
                };
                let ex = e.forward_act(x.clone(), &Act::Relu6);
                let dw = depthwise.forward_act(ex.clone(), &Act::Relu6);
                let t_e = time(&|| e.forward_act(x.clone(), &Act::Relu6));
                let t_d = time(&|| depthwise.forward_act(ex.clone(), &Act::Relu6));
                let t_p = time(&|| project.forward(dw.clone()));
                let t_add = if y.dims() == x.dims() {
                    time(&|| y.clone() + x.clone())
                } else {
                    0.0
                };
                println!(
                    "     expand {t_e:.3}  depthwise {t_d:.3}  project {t_p:.3}  add {t_add:.3}"
                );
            }
            x = y;
        }
        println!("total {total:.2} ms per input (sum of the fastest runs)");
    });
    Ok(())
}

fn gemm_peak() {
    for (m, k, n) in [
        (512usize, 512usize, 512usize),
        (192, 1152, 49),
        (1152, 192, 49),
        (96, 16, 12544),
        (24, 96, 3136),
        (144, 24, 3136),
    ] {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0f32; m * n];
        let reps = (2_000_000_000 / (m * k * n)).max(3);
        let t = Instant::now();
        for _ in 0..reps {
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    1,
                    k as isize,
                    b.as_ptr(),
                    1,
                    n as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
        let s = t.elapsed().as_secs_f64() / reps as f64;
        println!(
            "gemm {m}x{k}x{n}: {:.1} GFLOPS",
            2.0 * (m * k * n) as f64 / s / 1e9
        );
    }
}
