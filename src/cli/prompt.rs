//! Reading from the agent: confirmations and codes (never echoed, never an argument).

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use crate::ops::{OpsError, Refusal};

/// True when stdin is a terminal the agent can answer on.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks a yes/no question on a terminal; without one, refuses unless `yes` was given.
pub async fn confirm(question: &str, yes: bool) -> Result<(), OpsError> {
    if yes {
        return Ok(());
    }
    if !interactive() {
        return Err(OpsError::refused(
            Refusal::NotConfirmed,
            "no terminal to confirm on: add --yes to confirm from a script; nothing was changed",
        ));
    }
    let question = question.to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        crate::bounded::read_line(std::io::stdin().lock(), crate::bounded::LINE_LIMIT)
    })
    .await
    .map_err(|e| OpsError::Usage(format!("cannot read the answer: {e}")))?
    .map_err(|e| OpsError::Usage(format!("cannot read the answer: {e}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(OpsError::refused(
            Refusal::NotConfirmed,
            "not confirmed; nothing was changed",
        )),
    }
}

/// The reason: as given, else asked for on a terminal when the profile requires one.
pub async fn reason(given: Option<&str>, required: bool) -> Result<Option<String>, OpsError> {
    let given = given.map(str::trim).filter(|r| !r.is_empty());
    if given.is_some() || !required || !interactive() {
        return Ok(given.map(str::to_owned));
    }
    let line = tokio::task::spawn_blocking(|| {
        eprint!("Ticket or reason (required by this profile): ");
        let _ = std::io::stderr().flush();
        crate::bounded::read_line(std::io::stdin().lock(), crate::bounded::LINE_LIMIT)
    })
    .await
    .map_err(|e| OpsError::Usage(format!("cannot read the reason: {e}")))?
    .map_err(|e| OpsError::Usage(format!("cannot read the reason: {e}")))?;
    let line = line.trim();
    Ok((!line.is_empty()).then(|| line.to_owned()))
}

/// The most a code line on stdin may hold (a YubiKey's string is 44 bytes).
pub const CODE_LINE_MAX: usize = 256;

/// Reads one code line as typed: from stdin (one line of at most 256 bytes, never more is
/// read) with `--code-stdin`, else from the terminal without echo.
pub async fn read_code_line(
    code_stdin: bool,
    prompt: &str,
    timeout: Duration,
) -> Result<String, OpsError> {
    if !code_stdin && !interactive() {
        return Err(OpsError::Usage(
            "no terminal to read the code from: give it as one line on stdin with --code-stdin"
                .into(),
        ));
    }
    let prompt = prompt.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        if code_stdin {
            bounded_line(&mut std::io::stdin().lock())
        } else {
            rpassword::prompt_password(prompt)
        }
    });
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(OpsError::CheckFailed(
            "no code was given in time; nothing was checked".into(),
            None,
        )),
        Ok(joined) => joined
            .map_err(|e| OpsError::Usage(format!("cannot read the code: {e}")))?
            .map_err(|e| OpsError::Usage(format!("cannot read the code: {e}"))),
    }
}

/// One line of at most [`CODE_LINE_MAX`] bytes (its newline aside); a longer one is an error
/// and no more than one byte past the limit is read.
pub fn bounded_line(input: &mut impl BufRead) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(CODE_LINE_MAX + 2).unwrap_or(u64::MAX);
    std::io::Read::take(&mut *input, limit).read_until(b'\n', &mut bytes)?;
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    if bytes.len() > CODE_LINE_MAX {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the code line on stdin is longer than {CODE_LINE_MAX} bytes"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the code line on stdin is not UTF-8",
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_code_line_is_bounded() {
        let mut ok = std::io::Cursor::new(b"12 34-56\nmore".to_vec());
        assert_eq!(super::bounded_line(&mut ok).unwrap(), "12 34-56");
        let mut long = std::io::Cursor::new(vec![b'1'; 10_000]);
        assert!(super::bounded_line(&mut long).is_err());
        assert!(long.position() <= 258, "no more than the bound is read");
        let mut exact = std::io::Cursor::new([vec![b'1'; 256], b"\n".to_vec()].concat());
        assert_eq!(super::bounded_line(&mut exact).unwrap().len(), 256);
    }
}
