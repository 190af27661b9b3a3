//! OneLogin REST client: no UI in here.
