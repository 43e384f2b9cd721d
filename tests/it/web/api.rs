//! The HTTP API on a running server, over real HTTP.
