//! Protocol transcripts: an in-memory stream that expects exact program messages in order
//! and answers with scripted replies (the `expected_protocol` idea of PyMeasure and
//! InstrumentKit, instruments.md §9.2). Driver tests use it to pin every command byte: a write
//! the transcript does not expect fails at once with an I/O error, and the handle's
//! [`TranscriptHandle::finish`] fails on unexpected or unconsumed exchanges.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Debug, Default)]
struct State {
    pairs: VecDeque<(Vec<u8>, Option<Vec<u8>>)>,
    write_term: Vec<u8>,
    read_term: Vec<u8>,
    pending: Vec<u8>,
    out: VecDeque<u8>,
    failures: Vec<String>,
    reader: Option<Waker>,
}

/// The stream side given to a [`super::Session`].
#[derive(Debug)]
pub struct TranscriptStream {
    state: Arc<Mutex<State>>,
}

/// The test side: check the outcome.
#[derive(Debug, Clone)]
pub struct TranscriptHandle {
    state: Arc<Mutex<State>>,
}

/// Build a transcript of `(command, reply)` pairs; terminators are excluded from the pairs
/// and added here (`None` = the instrument does not answer).
pub fn transcript(
    pairs: &[(&str, Option<&str>)],
    write_term: &[u8],
    read_term: &[u8],
) -> (TranscriptStream, TranscriptHandle) {
    let state = State {
        pairs: pairs
            .iter()
            .map(|(c, r)| (c.as_bytes().to_vec(), r.map(|r| r.as_bytes().to_vec())))
            .collect(),
        write_term: write_term.to_vec(),
        read_term: read_term.to_vec(),
        ..State::default()
    };
    let state = Arc::new(Mutex::new(state));
    (
        TranscriptStream {
            state: state.clone(),
        },
        TranscriptHandle { state },
    )
}

/// Build a transcript whose replies are raw bytes (binary blocks).
pub fn transcript_bytes(
    pairs: Vec<(String, Option<Vec<u8>>)>,
    write_term: &[u8],
    read_term: &[u8],
) -> (TranscriptStream, TranscriptHandle) {
    let (stream, handle) = transcript(&[], write_term, read_term);
    handle.lock().pairs = pairs
        .into_iter()
        .map(|(c, r)| (c.into_bytes(), r))
        .collect();
    (stream, handle)
}

impl TranscriptHandle {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Ok` when every pair was consumed in order and nothing unexpected was written.
    pub fn finish(&self) -> Result<(), String> {
        let state = self.lock();
        let mut problems = state.failures.clone();
        if !state.pending.is_empty() {
            problems.push(format!(
                "unterminated write: {}",
                state.pending.escape_ascii()
            ));
        }
        for (cmd, _) in &state.pairs {
            problems.push(format!("expected but never sent: {}", cmd.escape_ascii()));
        }
        if !state.out.is_empty() {
            problems.push(format!("{} reply bytes never read", state.out.len()));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

impl AsyncWrite for TranscriptStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.pending.extend_from_slice(buf);
        let failures_before = state.failures.len();
        loop {
            let term = state.write_term.clone();
            let Some(at) = state
                .pending
                .windows(term.len().max(1))
                .position(|w| w == term.as_slice())
            else {
                break;
            };
            let message: Vec<u8> = state.pending.drain(..at + term.len()).collect();
            let message = &message[..at];
            match state.pairs.pop_front() {
                Some((expected, reply)) if expected == message => {
                    if let Some(reply) = reply {
                        let read_term = state.read_term.clone();
                        state.out.extend(reply);
                        state.out.extend(read_term);
                        if let Some(w) = state.reader.take() {
                            w.wake();
                        }
                    }
                }
                Some((expected, reply)) => {
                    let failure = format!(
                        "sent {} but expected {}",
                        message.escape_ascii(),
                        expected.escape_ascii()
                    );
                    state.failures.push(failure);
                    state.pairs.push_front((expected, reply));
                }
                None => {
                    let failure = format!("unexpected write {}", message.escape_ascii());
                    state.failures.push(failure);
                }
            }
        }
        // An instrument that is sent what the transcript does not expect refuses it at once:
        // the driver sees an I/O error (and `finish` names the write), so a test cannot pass
        // while the driver sends something it should not.
        if state.failures.len() > failures_before {
            let last = state.failures.last().cloned().unwrap_or_default();
            return Poll::Ready(Err(io::Error::other(format!("transcript: {last}"))));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for TranscriptStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.out.is_empty() {
            state.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.remaining().min(state.out.len());
        let bytes: Vec<u8> = state.out.drain(..n).collect();
        buf.put_slice(&bytes);
        Poll::Ready(Ok(()))
    }
}
