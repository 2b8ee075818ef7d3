//! The checks of lesson 10_timeouts_nonblocking: not written yet.

use super::Check;

/// What the experiment must show.
pub const EXPERIMENT: &[Check] = &[];
