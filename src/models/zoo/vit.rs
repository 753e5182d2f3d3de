//! torchvision's ViT-B/16. The explainable layers are each encoder block's `ln_1` output, its 196
//! patch tokens laid out as a 14×14 map (as pytorch-grad-cam's `reshape_transform` does); the head
//! re-attaches the class token and the block's residual stream, which travel as context.

use crate::error::Result;
use crate::input::weights::WeightMap;
use crate::models::layers::head_classes;
use crate::models::layers::{Act, LayerNorm, Linear, Loader};
use crate::models::network::{Context, Features, LayerInfo, Network, Trace};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{DType, Device, Tensor};

const DIM: usize = 768;
const HEADS: usize = 12;
const DEPTH: usize = 12;
const GRID: usize = 14;
const EPS: f64 = 1e-6;

#[derive(Debug, Clone)]
struct EncoderBlock {
    ln_1: LayerNorm,
    qkv: Linear,
    out: Linear,
    ln_2: LayerNorm,
    mlp_1: Linear,
    mlp_2: Linear,
}

impl EncoderBlock {
    fn attention(&self, y: Tensor<3>) -> Tensor<3> {
        let (p, v) = self.probabilities(y);
        self.attend(p, v)
    }

    /// The attention probabilities `[b, heads, n, n]` of the normalised tokens `y`, and the
    /// values `[b, heads, n, d]` they weigh.
    fn probabilities(&self, y: Tensor<3>) -> (Tensor<4>, Tensor<4>) {
        let [b, n, _] = y.dims();
        let d = DIM / HEADS;
        let qkv = self.qkv.forward(y).reshape([b, n, 3, HEADS, d]);
        let part = |i: usize| {
            qkv.clone()
                .slice([0..b, 0..n, i..i + 1, 0..HEADS, 0..d])
                .reshape([b, n, HEADS, d])
                .swap_dims(1, 2)
        };
        let (q, k, v) = (part(0), part(1), part(2));
        let scores = q.matmul(k.swap_dims(2, 3)) / (d as f64).sqrt();
        (softmax(scores, 3), v)
    }

    fn attend(&self, p: Tensor<4>, v: Tensor<4>) -> Tensor<3> {
        let [b, _, n, _] = p.dims();
        let o = p.matmul(v).swap_dims(1, 2).reshape([b, n, DIM]);
        self.out.forward(o)
    }

    fn mlp(&self, x: Tensor<3>) -> Tensor<3> {
        x.clone()
            + self
                .mlp_2
                .forward(gelu(self.mlp_1.forward(self.ln_2.forward(x))))
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = x.clone() + self.attention(self.ln_1.forward(x));
        self.mlp(x)
    }
}

#[derive(Debug, Clone)]
pub struct Vit {
    patch: crate::models::layers::Conv,
    class_token: Tensor<3>,
    pos_embedding: Tensor<3>,
    blocks: Vec<EncoderBlock>,
    ln: LayerNorm,
    head: Linear,
    pub num_classes: usize,
}

impl Vit {
    pub fn build(map: &WeightMap, device: &Device) -> Result<Self> {
        let l = Loader {
            map,
            model: "ViT-B/16",
            device,
        };
        let patch = l.conv(
            "conv_proj",
            None,
            3,
            DIM,
            16,
            16,
            crate::models::layers::Padding::Symmetric(0),
            1,
        )?;
        let mut blocks = vec![];
        for i in 0..DEPTH {
            let p = format!("encoder.layers.encoder_layer_{i}");
            let qkv_w = l.load::<2>(
                &format!("{p}.self_attention.in_proj_weight"),
                [3 * DIM, DIM],
            )?;
            let qkv_b = l.load::<1>(&format!("{p}.self_attention.in_proj_bias"), [3 * DIM])?;
            blocks.push(EncoderBlock {
                ln_1: l.layer_norm(&format!("{p}.ln_1"), DIM, EPS)?,
                qkv: Linear::new(qkv_w.transpose(), qkv_b),
                out: l.linear(&format!("{p}.self_attention.out_proj"), DIM, DIM)?,
                ln_2: l.layer_norm(&format!("{p}.ln_2"), DIM, EPS)?,
                mlp_1: l.linear(&format!("{p}.mlp.0"), DIM, 4 * DIM)?,
                mlp_2: l.linear(&format!("{p}.mlp.3"), 4 * DIM, DIM)?,
            });
        }
        let num_classes = head_classes(map, "heads.head.weight", DIM, l.model)?;
        Ok(Self {
            patch,
            class_token: l.load("class_token", [1, 1, DIM])?,
            pos_embedding: l.load("encoder.pos_embedding", [1, GRID * GRID + 1, DIM])?,
            blocks,
            ln: l.layer_norm("encoder.ln", DIM, EPS)?,
            head: l.linear("heads.head", DIM, num_classes)?,
            num_classes,
        })
    }

    fn embed(&self, x: Tensor<4>) -> Tensor<3> {
        self.embed_patches(self.patch.forward(x))
    }

    fn embed_patches(&self, patches: Tensor<4>) -> Tensor<3> {
        let b = patches.dims()[0];
        let patches = patches.reshape([b, DIM, GRID * GRID]).swap_dims(1, 2);
        let cls = self.class_token.clone().expand([b, 1, DIM]);
        Tensor::cat(vec![cls, patches], 1) + self.pos_embedding.clone()
    }
}

impl Network for Vit {
    fn layers(&self) -> Vec<LayerInfo> {
        (0..DEPTH)
            .map(|i| LayerInfo {
                name: format!("encoder.layers.encoder_layer_{i}.ln_1"),
                channels: DIM,
                height: GRID,
                width: GRID,
                note: Some(format!(
                    "tokens on a {GRID}×{GRID} grid, 1 class token set aside"
                )),
            })
            .collect()
    }

    fn default_layer(&self) -> usize {
        DEPTH - 1
    }

    fn peak_activation(&self) -> usize {
        (GRID * GRID + 1) * 4 * DIM
    }

    fn set_dtype(&mut self, dtype: DType) {
        self.patch.set_dtype(dtype);
        for b in &mut self.blocks {
            for l in [&mut b.qkv, &mut b.out, &mut b.mlp_1, &mut b.mlp_2] {
                l.set_dtype(dtype);
            }
        }
    }

    fn features(&self, x: Tensor<4>, layer: usize) -> Features {
        let x = self.blocks[..layer]
            .iter()
            .fold(self.embed(x), |x, blk| blk.forward(x));
        let [b, n, _] = x.dims();
        let tokens = self.blocks[layer].ln_1.forward(x.clone());
        let a = tokens
            .slice([0..b, 1..n, 0..DIM])
            .swap_dims(1, 2)
            .reshape([b, DIM, GRID, GRID]);
        Features {
            activation: a,
            context: Context::Residual(Box::new(x)),
        }
    }

    /// The patch embedding is the one convolution (and the one bias FullGrad counts, as
    /// pytorch-grad-cam's does: it looks at `Conv2d` and `BatchNorm2d` modules only); no ReLU.
    fn forward_traced(&self, x: Tensor<4>, trace: &mut Trace) -> Option<Tensor<2>> {
        let patches = self.patch.forward_traced(x, &Act::None, trace);
        let x = self
            .blocks
            .iter()
            .fold(self.embed_patches(patches), |x, blk| blk.forward(x));
        let b = x.dims()[0];
        let cls = self
            .ln
            .forward(x)
            .slice([0..b, 0..1, 0..DIM])
            .reshape([b, DIM]);
        Some(self.head.forward(cls))
    }

    fn has_attention(&self) -> bool {
        true
    }

    /// Block `l`'s class scores are torch-cam's `project_tokens` for torchvision's ViT: the
    /// block's output tokens averaged (the class token with them), the final LayerNorm, the head.
    fn attention_scores(
        &self,
        x: Tensor<4>,
        layer: usize,
        count: usize,
    ) -> Option<Vec<(Tensor<4>, Tensor<2>)>> {
        let first = layer.saturating_sub(count.max(1) - 1);
        let mut t = self.embed(x);
        let mut found = vec![];
        for (l, blk) in self.blocks.get(..=layer)?.iter().enumerate() {
            if l < first {
                t = blk.forward(t);
                continue;
            }
            let (p, v) = blk.probabilities(blk.ln_1.forward(t.clone()));
            let leaf = p.detach().autodiff().require_grad();
            let out = blk.mlp(t + blk.attend(leaf.clone(), v));
            let b = out.dims()[0];
            // The next block reads the same tokens, cut from this block's graph (burn frees a
            // graph's tape on backward, and each block's score has its own).
            t = out.clone().detach();
            let pooled = out.mean_dim(1).reshape([b, DIM]);
            found.push((leaf, self.head.forward(self.ln.forward(pooled))));
        }
        Some(found)
    }

    fn head(&self, activation: Tensor<4>, context: &Context, layer: usize) -> Tensor<2> {
        let Context::Residual(x) = context else {
            unreachable!("ViT features carry their residual stream")
        };
        let x = (**x).clone();
        let [b, n, _] = x.dims();
        let blk = &self.blocks[layer];
        let cls = blk.ln_1.forward(x.clone()).slice([0..b, 0..1, 0..DIM]);
        let patches = activation.reshape([b, DIM, GRID * GRID]).swap_dims(1, 2);
        let tokens = Tensor::cat(vec![cls, patches], 1);
        let x = blk.mlp(x + blk.attention(tokens));
        let x = self.blocks[layer + 1..]
            .iter()
            .fold(x, |x, blk| blk.forward(x));
        let cls = self
            .ln
            .forward(x)
            .slice([0..b, 0..1, 0..DIM])
            .reshape([b, DIM]);
        debug_assert_eq!(n, GRID * GRID + 1);
        self.head.forward(cls)
    }
}
