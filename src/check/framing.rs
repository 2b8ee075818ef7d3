//! The checks of lesson 12_framing: not written yet.

use super::Check;

/// What the experiment must show.
pub const EXPERIMENT: &[Check] = &[];
