//! The WebSocket endpoints over real sockets.
