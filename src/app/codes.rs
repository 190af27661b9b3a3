//! Sending codes again, how sends are counted, and YubiKey codes: the shared rules of
//! [`crate::ops::code`], under the names the console has always used.

pub use crate::ops::code::{
    RESEND_SECS, YUBIKEY_HINT, YUBIKEY_MIN_LEN, clock_time, is_yubikey, ordinal, resend_wait,
};
