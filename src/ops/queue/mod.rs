//! The shared ticket queue (team mode).
