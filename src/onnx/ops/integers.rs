//! Shapes and what graphs compute from them stay integers on the host (`Value::Ints`); these
//! are the helpers every family uses to read them, and to lift them to floats where they meet
//! a tensor.

use crate::error::{Error, Result};
use crate::models::value::Value;
use burn::tensor::{Device, Tensor, TensorData};

pub fn invalid(node: &str, what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("node '{node}': {what}"))
}

/// An axis of a rank-`rank` value, negative ones counted from the end.
pub fn axis(a: i64, rank: usize) -> usize {
    if a < 0 {
        (a + rank as i64).max(0) as usize
    } else {
        a as usize
    }
}

/// The integers of a shape-like value.
pub fn ints<'a>(v: &'a Value, node: &str) -> Result<&'a [i64]> {
    match v {
        Value::Ints(v) => Ok(v),
        _ => Err(invalid(
            node,
            "expected integers (a shape), found a float tensor",
        )),
    }
}

/// Elementwise on host integers, a single value broadcast over the other.
pub(crate) fn int_zip(a: &[i64], b: &[i64], f: impl Fn(i64, i64) -> i64) -> Vec<i64> {
    let n = a.len().max(b.len());
    let at = |v: &[i64], i: usize| v[if v.len() == 1 { 0 } else { i }];
    (0..n).map(|i| f(at(a, i), at(b, i))).collect()
}

/// Integers as a float tensor on `device` (a shape used in arithmetic, after a Cast).
pub fn floats(v: &[i64], device: &Device) -> Value {
    Value::R1(Tensor::from_data(
        TensorData::new(v.iter().map(|&i| i as f32).collect::<Vec<_>>(), [v.len()]),
        device,
    ))
}

/// `v`, integers made floats on `device` (where they meet a tensor).
pub fn lifted(v: &Value, device: &Device) -> Value {
    match v {
        Value::Ints(i) => floats(i, device),
        v => v.clone(),
    }
}

/// The device of a tensor value; `None` for host integers.
pub fn device_of(v: &Value) -> Option<Device> {
    Some(match v {
        Value::R1(t) => t.device(),
        Value::R2(t) => t.device(),
        Value::R3(t) => t.device(),
        Value::R4(t) => t.device(),
        Value::R5(t) => t.device(),
        Value::R6(t) => t.device(),
        Value::Ints(_) => return None,
    })
}
