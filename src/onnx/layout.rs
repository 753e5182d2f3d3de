//! Which values of a graph are maps one can explain, and how each is read as `[N, C, H, W]`:
//! channels-first outputs as they are, channels-last stretches (ConvNeXt's blocks, Swin's
//! stages: `[N, H, W, C]`) permuted, and transformer tokens (`[N, T, C]`, ViT/DeiT) with their
//! class (and distillation) tokens set aside and the rest laid out on their √T×√T grid.

use super::ops::Op;
use crate::error::Result;
use crate::models::value::Value;
use burn::tensor::Tensor;

/// The layout a value's axes carry, followed through the graph from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    ChannelsFirst,
    ChannelsLast,
    /// Reshaped, gathered, multiplied: no spatial meaning known.
    Other,
}

/// How a layer's value becomes a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapLayout {
    ChannelsFirst,
    ChannelsLast,
    /// `[N, prefix + grid², C]`: `prefix` class/distillation tokens, then the patches row by row.
    Tokens {
        prefix: usize,
        grid: usize,
    },
}

impl MapLayout {
    /// What the app and `camlens layers` say beside the layer.
    pub fn note(&self) -> Option<String> {
        match self {
            MapLayout::ChannelsFirst => None,
            MapLayout::ChannelsLast => Some("channels-last, read as channels-first".into()),
            MapLayout::Tokens { prefix: 0, grid } => {
                Some(format!("tokens on a {grid}×{grid} grid"))
            }
            MapLayout::Tokens { prefix, grid } => Some(format!(
                "tokens on a {grid}×{grid} grid, {prefix} class token{} set aside",
                if *prefix == 1 { "" } else { "s" }
            )),
        }
    }

    /// `(channels, height, width)` of the map of a value of shape `dims` (batch 1), if it is
    /// one in `layout`.
    pub fn of(dims: &[usize], layout: Layout) -> Option<(MapLayout, [usize; 3])> {
        match (dims, layout) {
            ([1, c, h, w], Layout::ChannelsFirst) if *h >= 2 && *w >= 2 => {
                Some((MapLayout::ChannelsFirst, [*c, *h, *w]))
            }
            ([1, h, w, c], Layout::ChannelsLast) if *h >= 2 && *w >= 2 => {
                Some((MapLayout::ChannelsLast, [*c, *h, *w]))
            }
            ([1, t, c], _) if *c >= 8 => (0..=2).find_map(|prefix| {
                let n = t.checked_sub(prefix)?;
                let grid = (n as f64).sqrt().round() as usize;
                (grid >= 2 && grid * grid == n)
                    .then_some((MapLayout::Tokens { prefix, grid }, [*c, grid, grid]))
            }),
            _ => None,
        }
    }

    /// The layer's value as `[N, C, H, W]`, and the tokens set aside (for `restore`).
    pub fn read_map(&self, v: &Value) -> Result<(Tensor<4>, Option<Value>)> {
        Ok(match *self {
            MapLayout::ChannelsFirst => (v.to_rank::<4>()?, None),
            MapLayout::ChannelsLast => (v.to_rank::<4>()?.permute([0, 3, 1, 2]), None),
            MapLayout::Tokens { prefix, grid } => {
                let t = v.to_rank::<3>()?;
                let [n, _, c] = t.dims();
                let patches = t
                    .clone()
                    .narrow(1, prefix, grid * grid)
                    .reshape([n, grid, grid, c])
                    .permute([0, 3, 1, 2]);
                let set_aside = (prefix > 0).then(|| Value::R3(t.narrow(1, 0, prefix)));
                (patches, set_aside)
            }
        })
    }

    /// The inverse of `read_map`: the map back in the graph's layout, the tokens set aside first.
    pub fn restore(&self, map: Tensor<4>, set_aside: Option<&Value>) -> Result<Value> {
        Ok(match *self {
            MapLayout::ChannelsFirst => Value::R4(map),
            MapLayout::ChannelsLast => Value::R4(map.permute([0, 2, 3, 1])),
            MapLayout::Tokens { grid, .. } => {
                let [n, c, _, _] = map.dims();
                let patches = map.permute([0, 2, 3, 1]).reshape([n, grid * grid, c]);
                match set_aside {
                    Some(prefix) => {
                        let prefix = prefix.to_rank::<3>()?;
                        // Masked forwards run a batch of inputs through one set-aside value.
                        let [_, k, _] = prefix.dims();
                        let prefix = prefix.expand([n, k, c]);
                        Value::R3(Tensor::cat(vec![prefix, patches], 1))
                    }
                    None => Value::R3(patches),
                }
            }
        })
    }
}

/// Each slot's layout: convolutions make channels-first maps, a Transpose to `[0, 2, 3, 1]`
/// starts a channels-last stretch and the reverse ends it, operations that regroup axes
/// (Reshape, Gather, MatMul…) lose the layout unless they leave the shape as it was, and the
/// rest keep the layout of their input of the output's shape (`bias + x` is laid out as `x`),
/// else of their first.
pub fn layouts(ops: &[Op], slots: usize, dims: &[Option<Vec<usize>>]) -> Vec<Layout> {
    let mut layout = vec![Layout::ChannelsFirst; slots];
    for op in ops {
        let first = op.inputs.first().copied().flatten();
        let same_shape = |out: usize| first.is_some_and(|s| dims[s] == dims[out]);
        for &out in &op.outputs {
            let from = op
                .inputs
                .iter()
                .flatten()
                .copied()
                .find(|&s| dims[s].is_some() && dims[s] == dims[out])
                .or(first)
                .map_or(Layout::ChannelsFirst, |s| layout[s]);
            layout[out] = if op.is_conv() {
                Layout::ChannelsFirst
            } else if let Some(p) = op.permutation() {
                match (p, from) {
                    ([0, 2, 3, 1], Layout::ChannelsFirst) => Layout::ChannelsLast,
                    ([0, 3, 1, 2], Layout::ChannelsLast) => Layout::ChannelsFirst,
                    _ => Layout::Other,
                }
            } else if from == Layout::ChannelsLast && op.maps_last_axis(dims) {
                Layout::ChannelsLast
            } else if op.regroups_axes() && !same_shape(out) {
                Layout::Other
            } else {
                from
            };
        }
    }
    layout
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn tokens_become_a_grid_and_come_back_with_their_class_token() {
        assert_eq!(
            MapLayout::of(&[1, 197, 768], Layout::Other),
            Some((
                MapLayout::Tokens {
                    prefix: 1,
                    grid: 14
                },
                [768, 14, 14]
            ))
        );
        assert_eq!(
            MapLayout::of(&[1, 198, 384], Layout::Other).map(|l| l.0),
            Some(MapLayout::Tokens {
                prefix: 2,
                grid: 14
            }),
            "DeiT's class and distillation tokens"
        );
        assert_eq!(MapLayout::of(&[197, 12, 64], Layout::Other), None);
        assert_eq!(
            MapLayout::of(&[1, 7, 7, 96], Layout::ChannelsLast),
            Some((MapLayout::ChannelsLast, [96, 7, 7]))
        );
        assert_eq!(MapLayout::of(&[1, 7, 7, 96], Layout::Other), None);

        // Token t = 1 + (row·2 + col), channel c, valued 100t + c.
        let d = Device::flex();
        let v: Vec<f32> = (0..5)
            .flat_map(|t| (0..8).map(move |c| (100 * t + c) as f32))
            .collect();
        let tokens = Value::R3(Tensor::from_data(TensorData::new(v.clone(), [1, 5, 8]), &d));
        let layout = MapLayout::Tokens { prefix: 1, grid: 2 };
        let (map, aside) = layout.read_map(&tokens).unwrap();
        let m = crate::compute::tensor_io::to_vec(map.clone()).unwrap();
        // Channel 3 at row 1, column 0 is token 1 + 2 = 3.
        assert_eq!(m[3 * 4 + 2], 303.0);
        let back = layout.restore(map, aside.as_ref()).unwrap();
        let b = crate::compute::tensor_io::to_vec(back.to_rank::<3>().unwrap()).unwrap();
        assert_eq!(b, v);
    }
}
