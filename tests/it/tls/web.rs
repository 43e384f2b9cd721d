//! The web page over HTTPS.
