//! Guided walkthroughs (`w`): a checklist that chains the dialogs the console already has, for
//! the two commonest calls: a lost or replaced device, and a user locked out.

use tui_input::Input;

use super::dialogs::Target;
use crate::api::OtpDevice;

/// Which walkthrough.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkKind {
    /// Lost or replaced device.
    LostDevice,
    /// Locked out.
    LockedOut,
}

/// The walkthroughs offered, in list order.
pub const WALKS: [WalkKind; 2] = [WalkKind::LostDevice, WalkKind::LockedOut];

impl WalkKind {
    /// The walkthrough's name.
    pub fn title(self) -> &'static str {
        match self {
            WalkKind::LostDevice => "Lost or replaced device",
            WalkKind::LockedOut => "Locked out",
        }
    }

    /// Its steps, in order.
    pub fn steps(self) -> [&'static str; 5] {
        match self {
            WalkKind::LostDevice => [
                "Check the caller",
                "Remove the lost device",
                "Sign out everywhere",
                "Temporary MFA token",
                "Enroll and verify the new device",
            ],
            WalkKind::LockedOut => [
                "Why the user is locked",
                "Check the caller",
                "Unlock",
                "Sign out (unknown addresses)",
                "Temporary MFA token",
            ],
        }
    }
}

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Not done yet.
    Todo,
    /// Done (✓).
    Done,
    /// Skipped (–), with why.
    Skipped,
    /// Failed (✗): Enter tries again, s skips.
    Failed,
}

/// One step of the checklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkStep {
    /// What the step does.
    pub title: &'static str,
    /// How it went.
    pub mark: Mark,
    /// Why it was skipped, how it failed, or what was done.
    pub note: Option<String>,
}

/// Where the walkthrough is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalkStage {
    /// Choosing a walkthrough.
    Choose,
    /// Asking for the ticket or reason (once, for every line the walkthrough writes).
    Reason,
    /// Lost device: which device is lost (chosen before the caller check, never offered to it).
    PickLost,
    /// Running the checklist.
    Steps,
}

/// The walkthrough dialog: the checklist stays on screen beside each step's own dialog.
#[derive(Clone, Debug)]
pub struct WalkDialog {
    /// The user.
    pub target: Target,
    /// Which walkthrough (the highlighted one while choosing).
    pub kind: WalkKind,
    /// Where it is.
    pub stage: WalkStage,
    /// The row highlighted while choosing a walkthrough or the lost device.
    pub selected: usize,
    /// The ticket or reason.
    pub reason: Input,
    /// The case id every audit line of this walkthrough carries (`w-…`).
    pub case: String,
    /// The checklist.
    pub steps: Vec<WalkStep>,
    /// The current step.
    pub current: usize,
    /// Lost device: the lost one.
    pub lost: Option<OtpDevice>,
    /// The caller was checked on a device (true) or the check overridden (false).
    pub caller_checked: Option<bool>,
    /// A problem or hint to show.
    pub error: Option<String>,
}

impl WalkDialog {
    /// The trimmed reason.
    pub fn reason_text(&self) -> String {
        self.reason.value().trim().to_owned()
    }

    /// True while the checklist runs (the reason and case apply to audit lines).
    pub fn running(&self) -> bool {
        self.stage == WalkStage::Steps || self.stage == WalkStage::PickLost
    }

    /// What was done, skipped and not done, by step number, in one line for the status.
    pub fn summary(&self) -> String {
        let list = |m: &Mark| {
            self.steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.mark == *m)
                .map(|(i, _)| (i + 1).to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut parts = Vec::new();
        for (mark, word) in [
            (Mark::Done, "✓ done"),
            (Mark::Skipped, "– skipped"),
            (Mark::Failed, "✗ failed"),
            (Mark::Todo, "not done"),
        ] {
            let l = list(&mark);
            if !l.is_empty() {
                parts.push(format!("{word} {l}"));
            }
        }
        if parts.is_empty() {
            parts.push("nothing done".into());
        }
        parts.join(" · ")
    }
}
