//! kawatch's integration tests, linked as one binary (as ripgrep does): one
//! link instead of eight, and one place to see them all.
//!
//! The real-kernel suite (`tests/kernel.rs`) stays a binary of its own: its
//! scenarios are timed by the kernel's timers and must not share the CPU with
//! the corpus and generated-capture tests here.
//!
//!   cargo test --test it                 # all of these
//!   cargo test --test it corpus::        # one module
//!   cargo test --test it contract::      # the JSON Schemas (docs/schemas/)

// Test helpers are `pub` inside the test crate's private modules.
#![allow(unreachable_pub)]

mod check;
mod cli;
mod cli_habits;
mod contract;
mod corpus;
mod fixtures;
mod generated;
mod numbers;
mod reader;
mod support;
mod tshark;
mod tui_e2e;
mod tui_render;
mod tui_run;
