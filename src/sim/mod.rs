//! The demo tenant: an axum server on loopback that behaves like OneLogin.
