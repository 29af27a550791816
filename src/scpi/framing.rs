//! Splitting a byte stream into messages, honouring each instrument's terminator and reading
//! arbitrary blocks by length (a block may contain the terminator bytes).
//!
//! The same framer serves both sides: the client splits replies, the simulators split program
//! messages. It is incremental: bytes arrive in chunks, and [`Framer::scan`] resumes where it
//! stopped, so a multi-megabyte reply is scanned once, not once per chunk.

use super::block::{BlockError, block_header};

/// Largest message accepted before the stream is declared garbage [bytes].
pub const MAX_MESSAGE: usize = 256 * 1024 * 1024;

/// The stream cannot be framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A block header is malformed.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// No terminator within the framer's limit ([`MAX_MESSAGE`] unless set lower).
    #[error("no message terminator within {0} bytes")]
    TooLong(usize),
    /// A definite block declares more bytes than the limit allows: the message can never be
    /// held. Its payload ends `end` bytes after the start of the message; a receiver that
    /// refuses it discards up to there.
    #[error("a block of the message ends at byte {end}, beyond the {limit}-byte input buffer")]
    BlockTooLong {
        /// Offset of the byte after the block, from the start of the message.
        end: usize,
        /// The limit [bytes].
        limit: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a data element: a `#` here opens a block.
    ElementStart,
    /// Inside ordinary text.
    Text,
    /// Inside a quoted string (`"..."`): separators and `#` do not count.
    Quoted,
    /// Skipping a definite block payload until this absolute offset.
    Block(usize),
}

/// Incremental message splitter.
#[derive(Debug, Clone)]
pub struct Framer {
    terminator: Vec<u8>,
    pos: usize,
    state: State,
    limit: usize,
    /// Inside the header of a message unit (before its first blank): the blank that ends
    /// it starts the first data element, which may be a block (`:SOUR:LIST #14…`).
    header: bool,
}

impl Framer {
    /// A framer for messages ending in `terminator` (e.g. `b"\n"`, `b"\r\n"`). An empty
    /// terminator is replaced by `\n`.
    pub fn new(terminator: &[u8]) -> Self {
        let terminator = if terminator.is_empty() {
            b"\n".to_vec()
        } else {
            terminator.to_vec()
        };
        Framer {
            terminator,
            pos: 0,
            state: State::ElementStart,
            limit: MAX_MESSAGE,
            header: true,
        }
    }

    /// The same, refusing messages longer than `limit` bytes as soon as that is known (an
    /// instrument's input buffer: a block header declaring more is refused at the header,
    /// not after its payload was stored).
    pub fn with_limit(terminator: &[u8], limit: usize) -> Self {
        Framer {
            limit: limit.clamp(1, MAX_MESSAGE),
            ..Framer::new(terminator)
        }
    }

    /// The terminator in use.
    pub fn terminator(&self) -> &[u8] {
        &self.terminator
    }

    /// Forget a partially scanned message (after a reconnect or when discarding input).
    pub fn reset(&mut self) {
        self.pos = 0;
        self.state = State::ElementStart;
        self.header = true;
    }

    /// Scan `buf` (which must start at the first byte of the current message and only grow
    /// between calls). Returns `Some(len)` when a complete message of `len` bytes, terminator
    /// included, is at the front of `buf`; the framer is then reset for the next message.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        let term = self.terminator.as_slice();
        while self.pos < buf.len() {
            if self.pos > self.limit {
                return Err(FrameError::TooLong(self.limit));
            }
            match self.state {
                State::Block(end) => {
                    if buf.len() < end {
                        self.pos = buf.len();
                        break;
                    }
                    self.pos = end;
                    self.state = State::Text;
                }
                State::ElementStart if buf[self.pos] == b'#' => {
                    let rest = &buf[self.pos..];
                    let Some(&n) = rest.get(1) else { break };
                    if !n.is_ascii_digit() {
                        return Err(
                            BlockError::BadHeader("the byte after `#` is not a digit").into()
                        );
                    }
                    let n = usize::from(n - b'0');
                    if rest.len() < 2 + n {
                        if rest[2..].iter().any(|d| !d.is_ascii_digit()) {
                            return Err(
                                BlockError::BadHeader("a length digit is not a digit").into()
                            );
                        }
                        break;
                    }
                    match block_header(rest)? {
                        (start, Some(len)) => {
                            let end = self.pos.saturating_add(start).saturating_add(len);
                            if end > self.limit {
                                return Err(FrameError::BlockTooLong {
                                    end,
                                    limit: self.limit,
                                });
                            }
                            self.state = State::Block(end);
                            self.pos += start;
                        }
                        (start, None) => {
                            // Indefinite block: runs to the terminator.
                            self.pos += start;
                            self.state = State::Text;
                        }
                    }
                }
                State::ElementStart | State::Text => {
                    let b = buf[self.pos];
                    if buf[self.pos..].starts_with(term) {
                        let len = self.pos + term.len();
                        self.reset();
                        return Ok(Some(len));
                    }
                    if term.len() > 1 && term.starts_with(&buf[self.pos..]) {
                        // A partial terminator at the end of the buffer: wait.
                        break;
                    }
                    self.state = match b {
                        b';' => {
                            self.header = true;
                            State::ElementStart
                        }
                        b',' => State::ElementStart,
                        b' ' if self.state == State::ElementStart => State::ElementStart,
                        b' ' if self.header => {
                            self.header = false;
                            State::ElementStart
                        }
                        b'"' => State::Quoted,
                        _ => State::Text,
                    };
                    self.pos += 1;
                }
                State::Quoted => {
                    // A terminator inside a string still ends the message: instruments never
                    // send one there, and a stray quote must not make us wait forever.
                    if buf[self.pos..].starts_with(term) {
                        let len = self.pos + term.len();
                        self.reset();
                        return Ok(Some(len));
                    }
                    if term.len() > 1 && term.starts_with(&buf[self.pos..]) {
                        break;
                    }
                    if buf[self.pos] == b'"' {
                        self.state = State::Text;
                    }
                    self.pos += 1;
                }
            }
        }
        // Judged by how far the scan got, not by how many bytes have arrived: a block header
        // still incomplete at the end of a chunk must be judged the same however the bytes
        // were chunked (found by fuzzing: incremental `TooLong` vs one-shot `BlockTooLong`).
        if self.pos > self.limit {
            return Err(FrameError::TooLong(self.limit));
        }
        Ok(None)
    }
}

/// Split one complete buffer into messages (for tests and simple callers).
pub fn split_messages(buf: &[u8], terminator: &[u8]) -> Result<(Vec<Vec<u8>>, usize), FrameError> {
    let mut framer = Framer::new(terminator);
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(len) = framer.scan(&buf[start..])? {
        out.push(buf[start..start + len].to_vec());
        start += len;
    }
    Ok((out, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_terminator_and_skips_blocks() {
        let (msgs, used) = split_messages(b"*IDN?\nMEAS?\npartial", b"\n").expect("frames");
        assert_eq!(msgs, vec![b"*IDN?\n".to_vec(), b"MEAS?\n".to_vec()]);
        assert_eq!(used, 12);
        let (msgs, _) = split_messages(b"#14AB\nC\n1,2\n", b"\n").expect("frames");
        assert_eq!(msgs, vec![b"#14AB\nC\n".to_vec(), b"1,2\n".to_vec()]);
        let (msgs, _) = split_messages(b"DATA 1,#12\n\n;X\n", b"\n").expect("frames");
        assert_eq!(msgs, vec![b"DATA 1,#12\n\n;X\n".to_vec()]);
        let (msgs, _) = split_messages(b"#0abc\r\n", b"\r\n").expect("frames");
        assert_eq!(msgs, vec![b"#0abc\r\n".to_vec()]);
        let (msgs, _) = split_messages(b"1\r2\r\n", b"\r\n").expect("frames");
        assert_eq!(msgs, vec![b"1\r2\r\n".to_vec()]);
    }

    #[test]
    fn incremental_scan_matches_one_shot() {
        let data = b"#210abcdefghij,12;\"a#b\"\n";
        let mut framer = Framer::new(b"\n");
        let mut found = None;
        for end in 1..=data.len() {
            if let Some(len) = framer.scan(&data[..end]).expect("frames") {
                found = Some((end, len));
                break;
            }
        }
        assert_eq!(found, Some((data.len(), data.len())));
    }

    /// Regression (issue 11, defect 11): a declared block was buffered in full.
    #[test]
    fn a_block_beyond_the_limit_is_refused_at_its_header() {
        let mut framer = Framer::with_limit(b"\n", 1024);
        assert_eq!(
            framer.scan(b"SOUR:VOLT #9999999999"),
            Err(FrameError::BlockTooLong {
                end: 10 + 2 + 9 + 999_999_999,
                limit: 1024
            })
        );
        let mut framer = Framer::with_limit(b"\n", 1024);
        assert_eq!(framer.scan(b"DATA #14abcd\n"), Ok(Some(13)));
        let mut framer = Framer::with_limit(b"\n", 8);
        assert_eq!(framer.scan(b"0123456789"), Err(FrameError::TooLong(8)));
    }

    #[test]
    fn bad_block_headers_are_errors() {
        assert!(split_messages(b"#x12\n", b"\n").is_err());
        assert!(split_messages(b"#3a\n\n", b"\n").is_err());
    }
}
