//! A cluster: one template's positional token list (its public [`super::Template`]
//! lives in the miner's list). The comparisons the miner needs (similarity,
//! instance-of, generalising) live here so `miner.rs` reads as the algorithm.

use super::tokenize::Token;

/// One position of a template: a constant word or a variable (`None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub word: Option<Box<str>>,
    /// Written without a space after the previous token (the value of a `key=`).
    pub glued: bool,
    /// Some member had a variable just before this constant where the template has
    /// none (messages whose only difference is an optional variable). Rendering only.
    pub var_before: bool,
}

impl Slot {
    fn matches(&self, msg: &str, t: &Token) -> bool {
        match &self.word {
            Some(w) => !t.var && **w == *t.text(msg),
            None => false,
        }
    }
}

pub(crate) struct Cluster {
    pub slots: Vec<Slot>,
    /// Like [`Slot::var_before`], after the last slot.
    pub var_after: bool,
    /// Itself while live; the cluster it was merged into otherwise.
    pub parent: usize,
    /// While live: where its template is in the miner's list of templates.
    pub pos: usize,
}

impl Cluster {
    pub fn new(id: usize, pos: usize, msg: &str, toks: &[Token]) -> Self {
        let slots = toks
            .iter()
            .map(|t| Slot {
                word: (!t.var).then(|| t.text(msg).into()),
                glued: t.glued,
                var_before: false,
            })
            .collect();
        Cluster {
            slots,
            var_after: false,
            parent: id,
            pos,
        }
    }

    /// The template text: tokens joined by a space (a `key=` value stays attached),
    /// each run of variables written once as `<*>`.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let mut last_var = false;
        let var = |text: &mut String, glued: bool, last_var: &mut bool| {
            if !*last_var {
                if !text.is_empty() && !glued {
                    text.push(' ');
                }
                text.push_str("<*>");
                *last_var = true;
            }
        };
        for s in &self.slots {
            match &s.word {
                None => var(&mut text, s.glued, &mut last_var),
                Some(w) => {
                    if s.var_before {
                        var(&mut text, false, &mut last_var);
                    }
                    if !text.is_empty() && !s.glued {
                        text.push(' ');
                    }
                    text.push_str(w);
                    last_var = false;
                }
            }
        }
        if self.var_after {
            var(&mut text, false, &mut last_var);
        }
        text
    }

    pub fn constants(&self) -> usize {
        self.slots.iter().filter(|s| s.word.is_some()).count()
    }

    /// Constants the template shares with a same-length message (same word, same
    /// position).
    pub fn shared(&self, msg: &str, toks: &[Token]) -> usize {
        self.slots
            .iter()
            .zip(toks)
            .filter(|(s, t)| s.matches(msg, t))
            .count()
    }

    /// The template's words at `positions` (`None` for a variable).
    pub fn words_at(&self, positions: &[usize]) -> Vec<Option<&str>> {
        positions
            .iter()
            .map(|&i| self.slots.get(i).and_then(|s| s.word.as_deref()))
            .collect()
    }

    /// Positions where template and message both hold a constant, and differ.
    pub fn word_mismatches(&self, msg: &str, toks: &[Token], out: &mut Vec<usize>) {
        out.clear();
        for (i, (s, t)) in self.slots.iter().zip(toks).enumerate() {
            if s.word.is_some() && !t.var && !s.matches(msg, t) {
                out.push(i);
            }
        }
    }

    /// Whether the message agrees with the template everywhere except at `skip`
    /// (agreeing: equal constants, or a variable on either side).
    pub fn compatible_except(&self, msg: &str, toks: &[Token], skip: &[usize]) -> bool {
        self.slots
            .iter()
            .zip(toks)
            .enumerate()
            .all(|(i, (s, t))| skip.contains(&i) || s.word.is_none() || t.var || s.matches(msg, t))
    }

    /// Turns every constant the message does not share into a variable. Returns
    /// whether the template changed.
    pub fn generalize(&mut self, msg: &str, toks: &[Token]) -> bool {
        let mut changed = false;
        for (s, t) in self.slots.iter_mut().zip(toks) {
            if s.word.is_some() && !s.matches(msg, t) {
                s.word = None;
                changed = true;
            }
        }
        changed
    }

    /// Same, against another template of the same length.
    pub fn generalize_with(&mut self, other: &[Slot]) -> bool {
        let mut changed = false;
        for (s, o) in self.slots.iter_mut().zip(other) {
            if s.word.is_some() && s.word != o.word {
                s.word = None;
                changed = true;
            }
        }
        changed
    }

    /// Whether `other` (same length) is an instance of this template: every
    /// message matching `other` matches this one. Needs at least one constant.
    pub fn covers(&self, other: &[Slot]) -> bool {
        self.slots.len() == other.len()
            && self.slots.iter().any(|s| s.word.is_some())
            && self
                .slots
                .iter()
                .zip(other)
                .all(|(s, o)| s.word.is_none() || s.word == o.word)
    }

    /// A message with the same constants as the template in the same order but
    /// variables elsewhere joins as is; this records where its variables were, so
    /// the text shows them. Returns whether the text must be rendered again.
    pub fn mark_gaps(&mut self, msg: &str, toks: &[Token]) -> bool {
        let words = toks.iter().filter(|t| !t.var).map(|t| t.text(msg));
        let own = self.slots.iter().filter_map(|s| s.word.as_deref());
        if !words.eq(own) {
            return false; // joined through an older skeleton: leave the text alone
        }
        let (mut changed, mut pending, mut j) = (false, false, 0);
        for t in toks {
            if t.var {
                pending = true;
                continue;
            }
            let mut covered = false;
            while self.slots.get(j).is_some_and(|s| s.word.is_none()) {
                covered = true;
                j += 1;
            }
            if let Some(s) = self.slots.get_mut(j)
                && pending
                && !covered
                && !s.var_before
            {
                s.var_before = true;
                changed = true;
            }
            pending = false;
            j += 1;
        }
        let covered = self.slots[j.min(self.slots.len())..]
            .iter()
            .any(|s| s.word.is_none());
        if pending && !covered && !self.var_after {
            self.var_after = true;
            changed = true;
        }
        changed
    }
}

/// Similarity of a same-length message sharing `same` of the template's `ct`
/// constants and having `cm` of its own: shared constants over the larger count. A
/// template without constants only matches a message without constants.
pub(crate) fn similarity(same: usize, ct: usize, cm: usize) -> f64 {
    if ct == 0 {
        return if cm == 0 { 1.0 } else { 0.0 };
    }
    same as f64 / ct.max(cm) as f64
}

/// Appends the shape key of a tokenised message: each constant followed by 0xFF,
/// each variable as 0xFE (neither byte occurs in UTF-8, so the key is exact).
pub(crate) fn shape_key(msg: &str, toks: &[Token], out: &mut Vec<u8>) {
    out.clear();
    for t in toks {
        if t.var {
            out.push(0xFE);
        } else {
            out.extend_from_slice(t.text(msg).as_bytes());
            out.push(0xFF);
        }
    }
}

/// The skeleton key: the constants only, in order (see [`shape_key`]).
pub(crate) fn skeleton_key<'a>(words: impl Iterator<Item = &'a str>, out: &mut Vec<u8>) {
    out.clear();
    for w in words {
        out.extend_from_slice(w.as_bytes());
        out.push(0xFF);
    }
}
