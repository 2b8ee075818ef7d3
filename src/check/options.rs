//! The checks of lesson 09_socket_options: not written yet.

use super::Check;

/// What the experiment must show.
pub const EXPERIMENT: &[Check] = &[];
