//! An inverted index from (template length, position, constant word) to the live
//! clusters holding that word there. Similarity only counts shared constants, so
//! the templates a message could join are found from the postings of its rarest
//! words, without comparing it against every template of the same length. This
//! keeps new message shapes cheap when there are thousands of templates, even when
//! some words ("user", "from") occur in most of them.

use std::collections::HashMap;

use super::cluster::Slot;
use super::tokenize::Token;

#[derive(Default)]
pub(crate) struct Index {
    postings: HashMap<(usize, usize), HashMap<Box<str>, Vec<usize>>>,
}

impl Index {
    /// Indexes cluster `c`'s constants.
    pub fn insert(&mut self, c: usize, slots: &[Slot]) {
        let len = slots.len();
        for (i, w) in slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s.word.as_ref()?)))
        {
            let words = self.postings.entry((len, i)).or_default();
            match words.get_mut(&**w) {
                Some(list) => list.push(c),
                None => {
                    words.insert(w.clone(), vec![c]);
                }
            }
        }
    }

    /// Removes cluster `c`'s constants (call before they change, with the old slots).
    pub fn remove(&mut self, c: usize, slots: &[Slot]) {
        let len = slots.len();
        for (i, w) in slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s.word.as_deref()?)))
        {
            if let Some(words) = self.postings.get_mut(&(len, i))
                && let Some(list) = words.get_mut(w)
            {
                list.retain(|&x| x != c);
                if list.is_empty() {
                    words.remove(w);
                }
            }
        }
    }

    /// The clusters that may share `need` or more constants (same word, same
    /// position) with a message of `toks.len()` tokens, in id order. A cluster
    /// sharing `need` of the message's `cm` constants misses at most `cm - need`, so
    /// it holds one of any `cm - need + 1` of them: only the postings of the rarest
    /// that many are read (prefix filtering), however common the other words are.
    pub fn candidates(&self, msg: &str, toks: &[Token], need: usize) -> Vec<usize> {
        let len = toks.len();
        let mut probe: Vec<&[usize]> = toks
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.var)
            .map(|(i, t)| {
                let list = self
                    .postings
                    .get(&(len, i))
                    .and_then(|w| w.get(t.text(msg)));
                list.map_or(&[][..], Vec::as_slice)
            })
            .collect();
        let cm = probe.len();
        if need == 0 || need > cm {
            return Vec::new();
        }
        probe.sort_unstable_by_key(|l| l.len());
        let mut out: Vec<usize> = probe[..cm - need + 1]
            .iter()
            .flat_map(|l| l.iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The clusters that could be instances of `slots` (they hold its rarest
    /// constant at the same position); empty if `slots` has no constant.
    pub fn sharing_rarest(&self, slots: &[Slot]) -> Vec<usize> {
        let len = slots.len();
        slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.postings.get(&(len, i))?.get(s.word.as_deref()?))
            .min_by_key(|list| list.len())
            .cloned()
            .unwrap_or_default()
    }
}
