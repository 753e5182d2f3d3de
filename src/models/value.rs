//! A float tensor whose rank is known only at run time (1 to 6), as a graph read from a file
//! produces them, and the few rank-generic operations an interpreter needs on it. burn's tensors
//! carry their rank in the type; this wraps one of each and broadcasts the NumPy way (trailing
//! dimensions aligned) by giving the lower-ranked operand leading 1s.

use crate::error::{Error, Result};
use burn::tensor::Tensor;

#[derive(Debug, Clone)]
pub enum Value {
    R1(Tensor<1>),
    R2(Tensor<2>),
    R3(Tensor<3>),
    R4(Tensor<4>),
    R5(Tensor<5>),
    /// Swin's window partition: `[B, H/w, w, W/w, w, C]`.
    R6(Tensor<6>),
    /// Integers computed on the host: a shape and what is derived from it (`Shape`, `Gather`,
    /// `Concat` feeding a `Reshape`), and integer constants.
    Ints(Vec<i64>),
}

/// The error of an operation that wants a float tensor and was given integers.
pub fn not_a_tensor() -> Error {
    Error::Invalid("integer shape values cannot be used as a float tensor".into())
}

/// Applies a rank-generic expression to the tensor inside a [`Value`], keeping its rank.
#[macro_export]
macro_rules! map_value {
    ($v:expr, |$t:ident| $e:expr) => {
        match $v {
            $crate::models::value::Value::R1($t) => $crate::models::value::Value::R1($e),
            $crate::models::value::Value::R2($t) => $crate::models::value::Value::R2($e),
            $crate::models::value::Value::R3($t) => $crate::models::value::Value::R3($e),
            $crate::models::value::Value::R4($t) => $crate::models::value::Value::R4($e),
            $crate::models::value::Value::R5($t) => $crate::models::value::Value::R5($e),
            $crate::models::value::Value::R6($t) => $crate::models::value::Value::R6($e),
            $crate::models::value::Value::Ints(_) => {
                return Err($crate::models::value::not_a_tensor());
            }
        }
    };
}

/// Applies a rank-generic expression to two values broadcast to their common rank.
#[macro_export]
macro_rules! zip_values {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
        let (a, b) = (&$a, &$b);
        match a.rank().max(b.rank()) {
            1 => {
                let ($x, $y) = (a.to_rank::<1>()?, b.to_rank::<1>()?);
                $crate::models::value::Value::R1($e)
            }
            2 => {
                let ($x, $y) = (a.to_rank::<2>()?, b.to_rank::<2>()?);
                $crate::models::value::Value::R2($e)
            }
            3 => {
                let ($x, $y) = (a.to_rank::<3>()?, b.to_rank::<3>()?);
                $crate::models::value::Value::R3($e)
            }
            4 => {
                let ($x, $y) = (a.to_rank::<4>()?, b.to_rank::<4>()?);
                $crate::models::value::Value::R4($e)
            }
            5 => {
                let ($x, $y) = (a.to_rank::<5>()?, b.to_rank::<5>()?);
                $crate::models::value::Value::R5($e)
            }
            _ => {
                let ($x, $y) = (a.to_rank::<6>()?, b.to_rank::<6>()?);
                $crate::models::value::Value::R6($e)
            }
        }
    }};
}

impl Value {
    pub fn rank(&self) -> usize {
        match self {
            Value::R1(_) => 1,
            Value::R2(_) => 2,
            Value::R3(_) => 3,
            Value::R4(_) => 4,
            Value::R5(_) => 5,
            Value::R6(_) => 6,
            Value::Ints(_) => 1,
        }
    }

    /// A float tensor, not host integers.
    pub fn is_float(&self) -> bool {
        !matches!(self, Value::Ints(_))
    }

    pub fn dims(&self) -> Vec<usize> {
        match self {
            Value::R1(t) => t.dims().to_vec(),
            Value::R2(t) => t.dims().to_vec(),
            Value::R3(t) => t.dims().to_vec(),
            Value::R4(t) => t.dims().to_vec(),
            Value::R5(t) => t.dims().to_vec(),
            Value::R6(t) => t.dims().to_vec(),
            Value::Ints(v) => vec![v.len()],
        }
    }

    /// The tensor at rank `D`: leading 1s added (broadcasting), or, for a lower `D`, leading
    /// dimensions of size 1 dropped.
    pub fn to_rank<const D: usize>(&self) -> Result<Tensor<D>> {
        let dims = self.dims();
        let shape = if dims.len() <= D {
            let mut s = [1usize; D];
            s[D - dims.len()..].copy_from_slice(&dims);
            s
        } else {
            let (lead, rest) = dims.split_at(dims.len() - D);
            if lead.iter().any(|&d| d != 1) {
                return Err(Error::Invalid(format!(
                    "a tensor of shape {dims:?} cannot be read as rank {D}"
                )));
            }
            rest.try_into().expect("D dimensions")
        };
        Ok(match self {
            Value::R1(t) => t.clone().reshape(shape),
            Value::R2(t) => t.clone().reshape(shape),
            Value::R3(t) => t.clone().reshape(shape),
            Value::R4(t) => t.clone().reshape(shape),
            Value::R5(t) => t.clone().reshape(shape),
            Value::R6(t) => t.clone().reshape(shape),
            Value::Ints(_) => return Err(not_a_tensor()),
        })
    }

    /// The tensor reshaped to `shape` (any rank from 1 to 5, same number of elements).
    pub fn reshape(&self, shape: &[usize]) -> Result<Value> {
        let n: usize = self.dims().iter().product();
        if shape.iter().product::<usize>() != n {
            return Err(Error::Invalid(format!(
                "cannot reshape {:?} ({n} values) to {shape:?}",
                self.dims()
            )));
        }
        let flat: Tensor<1> = match self {
            Value::R1(t) => t.clone(),
            Value::R2(t) => t.clone().reshape([n]),
            Value::R3(t) => t.clone().reshape([n]),
            Value::R4(t) => t.clone().reshape([n]),
            Value::R5(t) => t.clone().reshape([n]),
            Value::R6(t) => t.clone().reshape([n]),
            Value::Ints(_) => return Err(not_a_tensor()),
        };
        Ok(match *shape {
            [a] => Value::R1(flat.reshape([a])),
            [a, b] => Value::R2(flat.reshape([a, b])),
            [a, b, c] => Value::R3(flat.reshape([a, b, c])),
            [a, b, c, d] => Value::R4(flat.reshape([a, b, c, d])),
            [a, b, c, d, e] => Value::R5(flat.reshape([a, b, c, d, e])),
            [a, b, c, d, e, f] => Value::R6(flat.reshape([a, b, c, d, e, f])),
            _ => {
                return Err(Error::Invalid(format!(
                    "rank {} tensors are not supported (shape {shape:?})",
                    shape.len()
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn values_broadcast_with_leading_ones_and_reshape() {
        let d = Device::flex();
        let a = Value::R4(Tensor::from_data(
            TensorData::new((0..8).map(|v| v as f32).collect::<Vec<_>>(), [1, 2, 2, 2]),
            &d,
        ));
        let b = Value::R3(Tensor::from_data(
            TensorData::new(vec![10.0f32, 20.0], [2, 1, 1]),
            &d,
        ));
        let sum = (|| -> Result<Value> { Ok(zip_values!(a, b, |x, y| x + y)) })().unwrap();
        assert_eq!(sum.dims(), [1, 2, 2, 2]);
        let v = crate::compute::tensor_io::to_vec(sum.to_rank::<4>().unwrap()).unwrap();
        assert_eq!(v, [10.0, 11.0, 12.0, 13.0, 24.0, 25.0, 26.0, 27.0]);
        let flat = sum.reshape(&[1, 8]).unwrap();
        assert_eq!(flat.dims(), [1, 8]);
        assert_eq!(sum.to_rank::<3>().unwrap().dims(), [2, 2, 2]);
        assert!(sum.reshape(&[3, 3]).is_err());
    }
}
