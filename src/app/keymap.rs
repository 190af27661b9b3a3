//! The key bindings as data: the footer and the `?` help are both generated from this table.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Something a key can do at the top level (dialogs handle their own keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Focus the search box.
    Search,
    /// Open the selected user (or enroll the selected factor).
    Open,
    /// Move the selection down.
    Down,
    /// Move the selection up.
    Up,
    /// Jump to the first row.
    Top,
    /// Jump to the last row.
    Bottom,
    /// Move a page down.
    PageDown,
    /// Move a page up.
    PageUp,
    /// Focus the next pane.
    NextPane,
    /// Focus the previous pane.
    PrevPane,
    /// Check that the caller holds one of the user's active devices.
    CallerCheck,
    /// Enroll a phone.
    Enroll,
    /// Trigger the selected device.
    Trigger,
    /// Verify the selected device.
    Verify,
    /// Remove the selected device.
    Remove,
    /// Issue a temporary MFA token.
    Token,
    /// Unlock a locked user.
    Unlock,
    /// Sign the user out everywhere.
    Logout,
    /// Lock the user.
    Lock,
    /// Guided walkthroughs.
    Walkthrough,
    /// Refresh the open user.
    Refresh,
    /// Show the audit trail of this session.
    Audit,
    /// Show the open user's activity (events).
    History,
    /// Show the tenant's MFA coverage.
    Coverage,
    /// Show help.
    Help,
    /// Quit.
    Quit,
    /// Demo mode: show or hide the phone panel.
    Phone,
    /// Demo mode: approve the newest pending push.
    ApprovePush,
    /// Demo mode: deny the newest pending push.
    DenyPush,
}

impl Action {
    /// True for actions that change the tenant (refused in read-only mode).
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Action::Enroll
                | Action::Trigger
                | Action::Verify
                | Action::Remove
                | Action::Token
                | Action::Unlock
                | Action::Logout
                | Action::Lock
        )
    }

    /// True for the keys that act on the open user (`c` `e` `t` `v` `d` `m`).
    pub fn acts_on_open_user(self) -> bool {
        self.is_mutating() || self == Action::CallerCheck
    }
}

/// One binding: the keys, how they are shown, and what they do.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// Keys that trigger the action.
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the keys are written in the footer and help.
    pub label: &'static str,
    /// The action.
    pub action: Action,
    /// Short description for the footer.
    pub short: &'static str,
    /// Longer description for the help overlay.
    pub help: &'static str,
    /// Shown in the footer (when available); the rest only in help.
    pub footer: bool,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

/// Every top-level binding, in footer order.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Char('/'), NONE)],
        label: "/",
        action: Action::Search,
        short: "search",
        help: "search users: name, email:…, user:…, first:…, last:…, id:… or a user id",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Enter, NONE)],
        label: "⏎",
        action: Action::Open,
        short: "open",
        help: "open the selected user; on an available factor, enroll it",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('c'), NONE)],
        label: "c",
        action: Action::CallerCheck,
        short: "caller",
        help: "Check caller with an active device (push or code)",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('u'), NONE)],
        label: "u",
        action: Action::Unlock,
        short: "unlock",
        help: "unlock the user (offered while the user is locked)",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('j'), NONE), (KeyCode::Down, NONE)],
        label: "j/↓",
        action: Action::Down,
        short: "down",
        help: "move down",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::Char('k'), NONE), (KeyCode::Up, NONE)],
        label: "k/↑",
        action: Action::Up,
        short: "up",
        help: "move up",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::Char('g'), NONE), (KeyCode::Home, NONE)],
        label: "g",
        action: Action::Top,
        short: "top",
        help: "first row",
        footer: false,
    },
    Binding {
        keys: &[
            (KeyCode::Char('G'), SHIFT),
            (KeyCode::Char('G'), NONE),
            (KeyCode::End, NONE),
        ],
        label: "G",
        action: Action::Bottom,
        short: "bottom",
        help: "last row",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::PageDown, NONE)],
        label: "PgDn",
        action: Action::PageDown,
        short: "page down",
        help: "a page down",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::PageUp, NONE)],
        label: "PgUp",
        action: Action::PageUp,
        short: "page up",
        help: "a page up",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::Tab, NONE)],
        label: "Tab",
        action: Action::NextPane,
        short: "pane",
        help: "next pane (Shift-Tab: previous)",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::BackTab, SHIFT), (KeyCode::BackTab, NONE)],
        label: "S-Tab",
        action: Action::PrevPane,
        short: "prev pane",
        help: "previous pane",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::Char('e'), NONE)],
        label: "e",
        action: Action::Enroll,
        short: "enroll",
        help: "enroll a factor (phone, email, app), then verify it",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('t'), NONE)],
        label: "t",
        action: Action::Trigger,
        short: "trigger",
        help: "send an SMS, call or push to the selected device, with options",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('v'), NONE)],
        label: "v",
        action: Action::Verify,
        short: "verify",
        help: "check a code the user reads out, or wait for a push",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('d'), NONE)],
        label: "d",
        action: Action::Remove,
        short: "remove",
        help: "remove the selected device",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('m'), NONE)],
        label: "m",
        action: Action::Token,
        short: "token",
        help: "issue a temporary MFA token",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('o'), NONE)],
        label: "o",
        action: Action::Logout,
        short: "sign out",
        help: "sign the user out everywhere (OneLogin session and single sign-on)",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::Char('L'), SHIFT), (KeyCode::Char('L'), NONE)],
        label: "L",
        action: Action::Lock,
        short: "lock",
        help: "lock the user for 15 min, 1 h, 4 h or the policy's period (Manage All)",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::Char('w'), NONE)],
        label: "w",
        action: Action::Walkthrough,
        short: "walkthrough",
        help: "walkthroughs: lost or replaced device, locked out (a checklist of the dialogs)",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::Char('r'), NONE)],
        label: "r",
        action: Action::Refresh,
        short: "refresh",
        help: "reload the open user, devices and factors",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('h'), NONE)],
        label: "h",
        action: Action::History,
        short: "history",
        help: "the open user's events, newest first (/ filters, n more)",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::Char('R'), SHIFT), (KeyCode::Char('R'), NONE)],
        label: "R",
        action: Action::Coverage,
        short: "coverage",
        help: "the tenant's MFA coverage (s scans it in the background)",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::Char('A'), SHIFT), (KeyCode::Char('A'), NONE)],
        label: "A",
        action: Action::Audit,
        short: "audit",
        help: "the audit trail, all sessions, newest first (/ filters)",
        footer: false,
    },
    Binding {
        keys: &[(KeyCode::Char('p'), NONE)],
        label: "p",
        action: Action::Phone,
        short: "phone",
        help: "demo: show the simulated phone (codes, pushes, authenticators)",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('a'), NONE)],
        label: "a",
        action: Action::ApprovePush,
        short: "approve",
        help: "demo: approve the pending push",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('x'), NONE)],
        label: "x",
        action: Action::DenyPush,
        short: "deny",
        help: "demo: deny the pending push",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT)],
        label: "?",
        action: Action::Help,
        short: "help",
        help: "this help",
        footer: true,
    },
    Binding {
        keys: &[(KeyCode::Char('q'), NONE)],
        label: "q",
        action: Action::Quit,
        short: "quit",
        help: "quit (Ctrl-C exits from anywhere)",
        footer: true,
    },
];

/// The action bound to a key at the top level, if any.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    BINDINGS
        .iter()
        .find(|b| {
            b.keys
                .iter()
                .any(|(code, mods)| *code == key.code && *mods == key.modifiers)
        })
        .map(|b| b.action)
}

/// The binding of an action.
pub fn binding(action: Action) -> Option<&'static Binding> {
    BINDINGS.iter().find(|b| b.action == action)
}

/// Keys inside dialogs, for help: (keys, what they do).
pub const DIALOG_KEYS: &[(&str, &str)] = &[
    ("Tab / S-Tab", "next / previous field"),
    ("Enter", "submit from any field"),
    ("Space", "toggle a checkbox; ←/→ change a choice"),
    ("Esc", "close the dialog (stops a push wait)"),
    ("y / n", "confirm / cancel a removal"),
    (
        "c",
        "copy the token; check the caller before a guarded change",
    ),
    ("o", "override a required caller check, with a reason"),
    ("Ctrl-P", "demo: show the demo phone from a dialog"),
    ("Ctrl-C", "exit mfadesk"),
];

/// What the marks in the devices list mean, for help.
pub const LEGEND: &[(&str, &str)] = &[
    ("★", "the user's default device (OneLogin offers it first)"),
    ("active", "enrolled and verified: usable to sign in"),
    (
        "pending",
        "enrolled but never verified: v verifies it, d removes it",
    ),
    ("trigger", "t sends a code or push first, then v checks it"),
    (
        "code",
        "the user reads a code from the app or key; v checks it",
    ),
    ("push", "OneLogin Protect: t sends a push the user approves"),
];

/// The search syntax, for help.
pub const SEARCH_SYNTAX: &[(&str, &str)] = &[
    ("kelly", "names, username or email that start with kelly"),
    (
        "kel*",
        "* matches the rest of a word (kel* finds kelly, kelvin)",
    ),
    (
        "kelly slater",
        "two words: first and last name, in either order",
    ),
    ("Slater, Kelly", "last name, comma, first name"),
    (
        "a@b.com",
        "anything with @ is an email (email:k* for a prefix)",
    ),
    ("email: user:", "narrow to one field; also first: last:"),
    ("id:1,2 or 123", "user ids; a bare number is an id"),
];

/// Editing keys in the search box and every text field, for help.
pub const EDIT_KEYS: &[(&str, &str)] = &[
    ("Ctrl-U", "clear the field"),
    ("Up", "in an empty search box: recall the last query"),
    ("Home / End", "start / end of the text (also ←/→)"),
    ("Enter", "run the search (alone: run the last query again)"),
];

/// Lines the help overlay holds: every table plus its heading.
pub fn help_len() -> usize {
    BINDINGS.len() + DIALOG_KEYS.len() + LEGEND.len() + SEARCH_SYNTAX.len() + EDIT_KEYS.len() + 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_defaults_are_bound() {
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(action_for(&key('/')), Some(Action::Search));
        assert_eq!(action_for(&key('e')), Some(Action::Enroll));
        assert_eq!(action_for(&key('t')), Some(Action::Trigger));
        assert_eq!(action_for(&key('v')), Some(Action::Verify));
        assert_eq!(action_for(&key('d')), Some(Action::Remove));
        assert_eq!(action_for(&key('m')), Some(Action::Token));
        assert_eq!(action_for(&key('r')), Some(Action::Refresh));
        assert_eq!(action_for(&key('?')), Some(Action::Help));
        assert_eq!(action_for(&key('q')), Some(Action::Quit));
        assert_eq!(action_for(&key('p')), Some(Action::Phone));
        assert_eq!(action_for(&key('c')), Some(Action::CallerCheck));
        assert_eq!(action_for(&key('j')), Some(Action::Down));
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevPane)
        );
    }

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS {
            for k in b.keys {
                assert!(seen.insert(*k), "{k:?} bound twice");
            }
        }
    }
}
