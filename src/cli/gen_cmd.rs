//! Completions and the man page, generated from the same clap definitions as the parser.

use super::args::command;

/// Writes a completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) {
    let mut cmd = command();
    clap_complete::generate(shell, &mut cmd, "mfadesk", &mut std::io::stdout());
}

/// Writes the roff man page to stdout; the exit status.
pub fn man() -> u8 {
    let page = clap_mangen::Man::new(command());
    match page.render(&mut std::io::stdout()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mfadesk: cannot write the man page: {e}");
            1
        }
    }
}
