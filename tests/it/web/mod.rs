//! The web page and its server side: the WebSocket endpoints over real sockets (`ws`), the HTTP
//! API on a running server (`api`), and end-to-end tests in a real headless Chromium driven
//! through chromedriver (`browser` has the harness, `e2e` the scenarios, `korean` the page in Korean,
//! `rooms` the chat's rooms).

pub mod api;
pub mod browser;
mod e2e;
mod korean;
mod rooms;
pub mod ws;
