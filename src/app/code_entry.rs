//! The one field every typed code goes through: verify, the caller check, and enrollment (v1
//! and v2). The rules (what a code is, the re-send limit, the wording for each factor) are
//! [`crate::ops::code`]'s, shared with `mfadesk verify` and `enroll`.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use tui_input::Input;

use super::dialogs::{edit, replace_if_fresh};
use crate::api::Secret;
pub use crate::ops::code::CodeFactor;

/// A code field with what it knows about the codes sent to it.
#[derive(Clone, Debug)]
pub struct CodeEntry {
    /// How the code reaches the user.
    pub factor: CodeFactor,
    /// What was typed.
    pub input: Input,
    /// After a wrong code the code is "selected": typing replaces it.
    pub fresh: bool,
    /// When codes were sent, oldest first (for the re-send limit and the count).
    pub sends: Vec<DateTime<Utc>>,
    /// Who reads the code out: "user", or "caller" in a caller check.
    pub who: &'static str,
}

/// What Enter on the field asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Check this code.
    Code(Secret),
    /// Send another code (the field was empty).
    Resend,
    /// Another code may be sent in this many seconds (the field counts down).
    Wait(i64),
    /// Not sent: why.
    Problem(String),
}

impl CodeEntry {
    /// An empty field for this factor.
    pub fn new(factor: CodeFactor) -> Self {
        Self {
            factor,
            input: Input::default(),
            fresh: false,
            sends: Vec::new(),
            who: "user",
        }
    }

    /// The text typed.
    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// Feeds a key to the field (a typed character replaces a selected wrong code).
    pub fn key(&mut self, key: &KeyEvent) {
        if !replace_if_fresh(&mut self.input, &mut self.fresh, key) {
            edit(&mut self.input, key);
        }
    }

    /// Empties the field (a new code is on its way).
    pub fn clear(&mut self) {
        self.input.reset();
        self.fresh = false;
    }

    /// Enter: the code to check, a re-send (an empty field, when `resend` is possible at all),
    /// the wait until one, or why nothing is sent.
    pub fn submit(&mut self, now: DateTime<Utc>, resend: bool) -> Submitted {
        let empty = self.input.value().trim().is_empty();
        if empty && resend && self.factor.is_sent() {
            return match crate::ops::code::resend_wait(&self.sends, now) {
                Some(left) => Submitted::Wait(left),
                None => Submitted::Resend,
            };
        }
        match self.factor.check(self.input.value()) {
            Ok(code) => {
                self.fresh = false;
                Submitted::Code(Secret::new(code))
            }
            Err(problem) => {
                // Selected: the next code typed (or touched) replaces the bad one.
                self.fresh = !empty;
                Submitted::Problem(problem.message())
            }
        }
    }

    /// A code was sent now.
    pub fn sent(&mut self, now: DateTime<Utc>) {
        self.sends.push(now);
        self.clear();
    }

    /// The tenant said the code was wrong: it stays, selected, and this is what to say.
    pub fn wrong(&mut self) -> String {
        self.fresh = true;
        self.factor.wrong_code(&self.sends, self.who)
    }

    /// What goes under the field: when the code was sent, and what the empty field offers.
    pub fn lines(&self, now: DateTime<Utc>) -> (Option<String>, Option<String>) {
        let sent = self.factor.sent_line(&self.sends);
        let typed = self.factor.is_sent() && !self.input.value().trim().is_empty();
        (sent, (!typed).then(|| self.factor.hint(&self.sends, now)))
    }

    /// True while the re-send countdown is shown (the console ticks for it).
    pub fn counting_down(&self, now: DateTime<Utc>) -> bool {
        self.factor.is_sent() && crate::ops::code::resend_wait(&self.sends, now).is_some()
    }

    /// True when Enter on the field sends another code now.
    pub fn resend_ready(&self, now: DateTime<Utc>) -> bool {
        self.factor.is_sent()
            && self.input.value().trim().is_empty()
            && crate::ops::code::resend_wait(&self.sends, now).is_none()
    }
}
