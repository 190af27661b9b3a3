//! Reading input with a bound: nothing from a file, a pipe or a command is read without one,
//! so no input can make mfadesk hold (or wait for) more than it could ever use.

use std::io::{self, BufRead, Read};
use std::path::Path;

/// The largest config or tenant file read (far beyond any real one).
pub const FILE_LIMIT: usize = 4 * 1024 * 1024;

/// The longest answer line read from a terminal (a confirmation, a ticket or reason).
pub const LINE_LIMIT: usize = 1024;

fn too_long(what: &str, limit: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{what} is longer than {limit} bytes; nothing of it was used"),
    )
}

/// Reads at most `limit` bytes; more is an error (what was read is dropped).
pub fn read_all(reader: impl Read, limit: usize, what: &str) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(cap).read_to_end(&mut buf)?;
    if buf.len() > limit {
        return Err(too_long(what, limit));
    }
    Ok(buf)
}

/// A file as UTF-8 text, at most `limit` bytes, opened without blocking (a FIFO planted at the
/// path must not hang the reader).
pub fn read_file(path: &Path, limit: usize) -> io::Result<String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    let bytes = read_all(file, limit, "the file")?;
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

/// One line (without its newline), at most `limit` bytes; a longer one is an error.
pub fn read_line(reader: impl BufRead, limit: usize) -> io::Result<String> {
    let mut buf = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(2);
    reader.take(cap).read_until(b'\n', &mut buf)?;
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    if buf.len() > limit {
        return Err(too_long("the line", limit));
    }
    String::from_utf8(buf)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the line is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_their_bound() {
        assert_eq!(read_all(&b"abc"[..], 3, "x").unwrap(), b"abc");
        assert!(read_all(&b"abcd"[..], 3, "x").is_err());
        assert_eq!(read_line(&b"yes\nmore"[..], 8).unwrap(), "yes");
        assert_eq!(read_line(&b"yes\r\n"[..], 3).unwrap(), "yes");
        assert!(read_line(&b"yesyesyes\n"[..], 3).is_err());
        // An endless line is cut off at the bound, never read whole.
        let endless = std::io::repeat(b'y');
        assert!(read_line(std::io::BufReader::new(endless), 16).is_err());
    }
}
