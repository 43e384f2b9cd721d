//! Logging in: brute-force protection shared by every service that takes a password.
//!
//! - [`throttle`]: failed-login counting per address and per account, with slow-down and lockout.

pub mod throttle;
