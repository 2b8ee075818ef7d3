//! What the binaries of this package share: [`bench`], the results of
//! `chatbench` (the chat servers measured by chatload, stage by stage) and
//! the tables and plot the book shows from them.

pub mod bench;
