//! The ready line: the one line a server prints as soon as it can take peers.
//!
//! Tests, the tour and a learner's second terminal all wait for this line instead of sleeping
//! and hoping. It carries the real address, so `--port 0` (any free port) can be found.

use std::net::SocketAddr;

/// A TCP server has called `listen`: connections to `address` are now queued by the OS.
pub fn listening(address: SocketAddr) {
    crate::style::event(format!("listening on {address}"));
}

/// A UDP server has called `bind`: datagrams sent to `address` now reach it.
pub fn bound(address: SocketAddr) {
    crate::style::event(format!("bound to {address}"));
}
