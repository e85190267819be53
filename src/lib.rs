//! roomwarden: a keyboard-driven terminal console for chat-room moderation.
//!
//! Layers (see docs/DESIGN.md): [`model`] (imports nothing) <- [`provider`]
//! (adapters) <- [`ops`] (plan, run, audit, tickets) <- [`session`] (start-up
//! both faces share) <- faces ([`cli`], [`tui`]).

pub mod assets;
pub mod cli;
pub mod config;
pub mod logging;
pub mod model;
pub mod ops;
pub mod provider;
pub mod session;
pub mod text;
pub mod tui;
