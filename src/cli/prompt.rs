//! Reading from the agent: confirmations and codes (never echoed, never an argument).

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use crate::api::Secret;
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

/// Codes lose spaces and dashes (`12 34 56`, `123-456`).
pub fn normalize_code(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// Reads a code: one line from stdin with `--code-stdin`, else from the terminal without echo.
/// `None` when nothing was typed (or stdin ended).
pub async fn read_code(
    code_stdin: bool,
    prompt: &str,
    timeout: Duration,
) -> Result<Option<Secret>, OpsError> {
    if !code_stdin && !interactive() {
        return Err(OpsError::Usage(
            "no terminal to read the code from: give it as one line on stdin with --code-stdin"
                .into(),
        ));
    }
    let prompt = prompt.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        if code_stdin {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map(|_| line)
        } else {
            rpassword::prompt_password(prompt)
        }
    });
    let line = match tokio::time::timeout(timeout, read).await {
        Err(_) => {
            return Err(OpsError::CheckFailed(
                "no code was given in time; nothing was checked".into(),
                None,
            ));
        }
        Ok(joined) => joined
            .map_err(|e| OpsError::Usage(format!("cannot read the code: {e}")))?
            .map_err(|e| OpsError::Usage(format!("cannot read the code: {e}")))?,
    };
    let code = normalize_code(&line);
    Ok((!code.is_empty()).then(|| Secret::new(code)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_lose_spaces_and_dashes() {
        assert_eq!(super::normalize_code(" 12 34-56\n"), "123456");
    }
}
