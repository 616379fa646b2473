//! Bounding output. Everything a tool returns goes back into the model's context,
//! so every output is capped; when something is cut we keep both ends (the start
//! says what ran, the end usually holds the error) and say how much was dropped.

use std::collections::VecDeque;

/// Keeps the first `head` and last `tail` characters' worth of bytes of `s`
/// (on character boundaries), replacing the middle with a note.
pub(crate) fn cut_middle(s: &str, head: usize, tail: usize) -> String {
    if s.len() <= head + tail {
        return s.to_string();
    }
    let h = floor_boundary(s, head);
    let t = ceil_boundary(s, s.len() - tail);
    let cut = t - h;
    format!("{}\n[... {cut} bytes cut ...]\n{}", &s[..h], &s[t..])
}

/// The first `max` bytes of `s` at most, cut on a character boundary.
pub(crate) fn cut_end(s: &str, max: usize) -> &str {
    &s[..floor_boundary(s, max)]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A byte sink that remembers only the first `head` and the last `tail` bytes of a
/// stream of any length, so a chatty command cannot exhaust memory.
#[derive(Debug)]
pub(crate) struct HeadTail {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_cap: usize,
    tail_cap: usize,
    total: u64,
}

impl HeadTail {
    pub(crate) fn new(head_cap: usize, tail_cap: usize) -> Self {
        Self {
            head: Vec::new(),
            tail: VecDeque::new(),
            head_cap,
            tail_cap,
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.head_cap.saturating_sub(self.head.len());
        let to_head = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..to_head]);
        bytes = &bytes[to_head..];
        if bytes.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - self.tail_cap..]);
        } else {
            self.tail.extend(bytes);
            let excess = self.tail.len().saturating_sub(self.tail_cap);
            self.tail.drain(..excess);
        }
    }

    /// The text kept, with a `[... N bytes cut ...]` marker if anything was dropped.
    pub(crate) fn render(&self) -> String {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        let head = String::from_utf8_lossy(&self.head);
        let tail = String::from_utf8_lossy(&tail);
        if kept == self.total {
            format!("{head}{tail}")
        } else {
            format!("{head}\n[... {} bytes cut ...]\n{tail}", self.total - kept)
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }
}
