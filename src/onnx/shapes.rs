//! Shapes and the integers computed from them, on the host: ONNX Reshape's rules, integer
//! arithmetic.

use super::indexing::int_zip;
use super::ops::Arith;
use crate::error::{Error, Result};
use crate::models::value::Value;

/// The integers of a shape-like value.
pub fn ints<'a>(v: &'a Value, node: &str) -> Result<&'a [i64]> {
    match v {
        Value::Ints(v) => Ok(v),
        _ => Err(Error::Invalid(format!(
            "node '{node}': expected integers (a shape), found a float tensor"
        ))),
    }
}

/// Arithmetic on shape integers, a single value broadcast over the other.
pub fn int_arith(op: Arith, a: &[i64], b: &[i64]) -> Vec<i64> {
    int_zip(a, b, |x, y| match op {
        Arith::Add => x + y,
        Arith::Sub => x - y,
        Arith::Mul => x * y,
        Arith::Div => x.checked_div(y).unwrap_or(0),
    })
}

/// ONNX Reshape's shape: 0 copies the input's dimension, -1 takes what is left. A graph exported
/// with a fixed batch of 1 is run with its batch relaxed: `batch` is then the batch being run,
/// which a leading 1 stands for.
pub fn reshaped(input: &[usize], shape: &[i64], batch: Option<usize>) -> Result<Vec<usize>> {
    let total: usize = input.iter().product();
    let mut out: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(i, &s)| match s {
            0 => input.get(i).copied().unwrap_or(1),
            -1 => 1,
            s => s as usize,
        })
        .collect();
    if let (Some(b), Some(&1)) = (batch, shape.first()) {
        out[0] = b;
    }
    if let Some(i) = shape.iter().position(|&s| s == -1) {
        let known: usize = out
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, d)| d)
            .product();
        out[i] = total / known.max(1);
    }
    if out.iter().product::<usize>() != total {
        return Err(Error::Invalid(format!(
            "cannot reshape {input:?} to {shape:?}"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_follows_onnx_and_relaxes_a_fixed_batch() {
        assert_eq!(reshaped(&[2, 8, 1, 1], &[0, -1], None).unwrap(), [2, 8]);
        assert_eq!(reshaped(&[2, 8, 1, 1], &[1, -1], Some(2)).unwrap(), [2, 8]);
        assert!(reshaped(&[2, 8, 1, 1], &[1, -1], None).is_ok_and(|s| s == [1, 16]));
        assert!(reshaped(&[2, 8], &[3, -1], None).is_err());
        // Channels folded into the first axis and back: the leading 1 is the batch, not the
        // first axis of what is reshaped.
        assert_eq!(
            reshaped(&[16, 4, 4], &[1, 8, 4, 4], Some(2)).unwrap(),
            [2, 8, 4, 4]
        );
        assert_eq!(
            reshaped(&[8, 4, 4], &[1, 8, 4, 4], Some(1)).unwrap(),
            [1, 8, 4, 4]
        );
    }
}
