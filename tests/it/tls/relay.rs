//! The relay's second hop over mutual TLS.
