//! `sim`, `completions` and `man` list only their own options in their help, while the shared
//! options still parse before or after any command and still complete for the others.

use std::process::Command;

use mfadesk::api::MfaApiChoice;
use mfadesk::cli::args::{Command as Sub, parse_from};

const BIN: &str = env!("CARGO_BIN_EXE_mfadesk");
const SHARED: [&str; 6] = [
    "--profile",
    "--read-only",
    "--mfa-api",
    "--base-url",
    "--audit-log",
    "--operator",
];

fn help(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(args)
        .env("HOME", home.path())
        .env_remove("ONELOGIN_CLIENT_ID")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{args:?}: {o:?}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn sim_completions_and_man_help_list_only_their_own_options() {
    for (args, own) in [
        (&["sim", "--help"][..], "--listen"),
        (&["help", "sim"][..], "--rate-limit"),
        (&["completions", "--help"][..], "<SHELL>"),
        (&["man", "--help"][..], "--help"),
    ] {
        let text = help(args);
        assert!(text.contains(own), "{args:?}:\n{text}");
        for flag in SHARED {
            assert!(!text.contains(flag), "{args:?} lists {flag}:\n{text}");
        }
    }
    // Every other command still lists the shared options.
    for args in [&["show", "--help"][..], &["audit", "--help"], &["--help"]] {
        let text = help(args);
        for flag in SHARED {
            assert!(text.contains(flag), "{args:?} lacks {flag}:\n{text}");
        }
    }
}

#[test]
fn shared_options_parse_before_and_after_a_command() {
    for args in [
        &["mfadesk", "--mfa-api", "v1", "show", "kelly"][..],
        &["mfadesk", "show", "kelly", "--mfa-api", "v1"],
    ] {
        let cli = parse_from(args).unwrap();
        assert_eq!(cli.options.mfa_api, Some(MfaApiChoice::V1), "{args:?}");
        assert!(matches!(cli.command, Some(Sub::Show { ref user, .. }) if user == "kelly"));
    }
    let cli = parse_from([
        "mfadesk",
        "show",
        "kelly",
        "--read-only",
        "--profile",
        "prod",
    ])
    .unwrap();
    assert!(cli.options.read_only);
    assert_eq!(cli.options.profile.as_deref(), Some("prod"));
    assert!(parse_from(["mfadesk", "show", "kelly", "--mfa-api", "v3"]).is_err());
    // Hidden from the help is not refused: a shared option after `sim` still lands where it did.
    let cli = parse_from(["mfadesk", "sim", "--log-level", "debug", "--mfa-api", "v2"]).unwrap();
    assert!(matches!(cli.command, Some(Sub::Sim(_))));
    assert_eq!(cli.options.mfa_api, Some(MfaApiChoice::V2));
    assert_eq!(cli.options.log_level.as_deref(), Some("debug"));
    assert!(parse_from(["mfadesk", "sim", "--mfa-api", "v3"]).is_err());
    let cli = parse_from(["mfadesk", "--profile", "prod", "sim"]).unwrap();
    assert_eq!(cli.options.profile.as_deref(), Some("prod"));
}

#[test]
fn bash_completion_still_offers_the_shared_options_for_other_commands() {
    let script = help(&["completions", "bash"]);
    // The `show` case of the script: its option list names the shared flags.
    let show = script
        .split("mfadesk__subcmd__show)")
        .nth(1)
        .and_then(|rest| rest.lines().find(|l| l.contains("opts=\"")))
        .expect("a show case in the bash script");
    for flag in SHARED {
        assert!(show.contains(flag), "show lacks {flag}: {show}");
    }
    assert!(show.contains("--json"), "{show}");
}
