//! How faithful a map is: Average Drop, Increase in Confidence, Win % and drop in logit
//! (`metrics`), and the deletion and insertion curves (`curves`).

pub mod curves;
pub mod metrics;
