//! The online miner. Each message is tokenised and masked ([`super::tokenize`]),
//! then placed by the first step that applies:
//!
//! 1. **Shape cache**: a message whose masked token sequence was seen before goes
//!    where that sequence went. This is the hot path: one scan of the message, one
//!    hash lookup, no allocation.
//! 2. **Skeleton**: a message with the same constants in the same order as a
//!    template joins it, wherever its variables are (an optional value, a value
//!    written as one word or several).
//! 3. **Similarity** (as Drain, without the prefix tree): the most similar template
//!    of the same length, if it shares at least `similarity` of the constants,
//!    takes the message and turns the positions that differ into variables. When
//!    they differ by a *word* (constant against constant), that position becomes a
//!    variable only once `min_variants` distinct words have been seen there; until
//!    then each word keeps its own template (`opened`/`closed` stay apart, while
//!    user names generalise once a third one shows up).
//! 4. Otherwise the message starts a new template.
//!
//! Whenever a template gains a variable, templates that have become instances of it
//! merge into it. A merged template's id keeps resolving to the template it went
//! into, so ids handed out by [`LogMiner::add`] stay valid.

use std::collections::HashMap;

use super::cluster::{Cluster, shape_key, similarity, skeleton_key};
use super::index::Index;
use super::tokenize::{Token, tokenize};
use super::{MinerConfig, Template, looks_like_error};

/// An online log template miner. See the module docs for the algorithm.
pub struct LogMiner {
    cfg: MinerConfig,
    clusters: Vec<Cluster>,
    /// Masked token sequence -> cluster (step 1); cleared past `cfg.max_shapes`.
    shapes: HashMap<Box<[u8]>, usize>,
    /// Constants only -> cluster (step 2).
    skeletons: HashMap<Box<[u8]>, usize>,
    /// Constants of the live clusters (step 3).
    index: Index,
    /// The live clusters' templates, in id order.
    templates: Vec<Template>,
    toks: Vec<Token>,
    key: Vec<u8>,
}

impl LogMiner {
    pub fn new(cfg: MinerConfig) -> Self {
        LogMiner {
            cfg,
            clusters: Vec::new(),
            shapes: HashMap::new(),
            skeletons: HashMap::new(),
            index: Index::default(),
            templates: Vec::new(),
            toks: Vec::new(),
            key: Vec::new(),
        }
    }

    pub fn config(&self) -> &MinerConfig {
        &self.cfg
    }

    /// Adds one message (the log's content, without its header) and returns the id
    /// of the template it joined. The id stays valid: if the template later merges
    /// into another, [`LogMiner::template`] follows it there.
    pub fn add(&mut self, message: &str) -> usize {
        self.insert(message, None)
    }

    /// Same, recording `seen` (a timestamp, a line number...) for first/last seen.
    pub fn add_at(&mut self, message: &str, seen: i64) -> usize {
        self.insert(message, Some(seen))
    }

    /// The template `id` belongs to now (following merges).
    ///
    /// # Panics
    /// If `id` was not returned by this miner.
    pub fn template(&self, id: usize) -> &Template {
        &self.templates[self.clusters[self.resolve(id)].pos]
    }

    /// Like [`LogMiner::template`], or `None` for an id this miner never returned.
    pub fn get(&self, id: usize) -> Option<&Template> {
        (id < self.clusters.len()).then(|| self.template(id))
    }

    /// The id of the template `id` was merged into (itself if it is still live).
    pub fn resolve(&self, mut id: usize) -> usize {
        while let Some(c) = self.clusters.get(id) {
            if c.parent == id {
                break;
            }
            id = c.parent;
        }
        id
    }

    /// The live templates (not merged into another), in id order.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// Number of live templates.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// Templates that look like errors ([`looks_like_error`] on the text or the
    /// first example) and occurred at least `min_count` times, most frequent first.
    pub fn recurring_errors(&self, min_count: u64) -> Vec<&Template> {
        let mut v: Vec<&Template> = self
            .templates
            .iter()
            .filter(|t| t.count >= min_count)
            .filter(|t| {
                looks_like_error(&t.text) || t.examples.first().is_some_and(|e| looks_like_error(e))
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
        v
    }

    fn insert(&mut self, msg: &str, seen: Option<i64>) -> usize {
        let mut toks = std::mem::take(&mut self.toks);
        let mut key = std::mem::take(&mut self.key);
        tokenize(msg, &mut toks);
        shape_key(msg, &toks, &mut key);
        let id = match self.shapes.get(&key[..]) {
            Some(&c) => self.find(c),
            None => {
                let c = self.place(msg, &toks, &mut key);
                if self.shapes.len() >= self.cfg.max_shapes {
                    self.shapes.clear();
                }
                shape_key(msg, &toks, &mut key);
                self.shapes.insert(key.as_slice().into(), c);
                c
            }
        };
        self.toks = toks;
        self.key = key;
        self.record(id, msg, seen);
        id
    }

    fn record(&mut self, id: usize, msg: &str, seen: Option<i64>) {
        let max = self.cfg.max_examples;
        let t = &mut self.templates[self.clusters[id].pos];
        t.count += 1;
        if let Some(s) = seen {
            t.first_seen = Some(t.first_seen.map_or(s, |f| f.min(s)));
            t.last_seen = Some(t.last_seen.map_or(s, |l| l.max(s)));
        }
        if t.examples.len() < max && !t.examples.iter().any(|e| e == msg) {
            t.examples.push(msg.to_owned());
        }
    }

    /// Steps 2 to 4 for a shape not seen before. `key` is scratch space.
    fn place(&mut self, msg: &str, toks: &[Token], key: &mut Vec<u8>) -> usize {
        skeleton_key(toks.iter().filter(|t| !t.var).map(|t| t.text(msg)), key);
        if let Some(&c) = self.skeletons.get(&key[..]) {
            let c = self.find(c);
            if self.clusters[c].mark_gaps(msg, toks) {
                self.render(c);
            }
            return c;
        }
        let cm = toks.iter().filter(|t| !t.var).count();
        // sharing fewer than `need` constants cannot reach the threshold
        let need = ((self.cfg.similarity * cm as f64).ceil() as usize).max(1);
        let cands = self.index.candidates(msg, toks, need);
        let mut best = None;
        let mut best_sim = f64::NEG_INFINITY;
        for &c in &cands {
            let cl = &self.clusters[c];
            let s = similarity(cl.shared(msg, toks), cl.constants(), cm);
            if s > best_sim {
                (best, best_sim) = (Some(c), s);
            }
        }
        let Some(best) = best.filter(|_| best_sim >= self.cfg.similarity) else {
            return self.create(msg, toks);
        };
        let mut words = Vec::new();
        self.clusters[best].word_mismatches(msg, toks, &mut words);
        if words.is_empty() {
            self.update(best, |c| c.generalize(msg, toks));
            return best;
        }
        // A word differs: generalise only with enough distinct words at those positions.
        let siblings: Vec<usize> = cands
            .into_iter()
            .filter(|&c| self.clusters[c].compatible_except(msg, toks, &words))
            .collect();
        let mut variants: Vec<Vec<Option<&str>>> =
            vec![words.iter().map(|&i| Some(toks[i].text(msg))).collect()];
        for &c in &siblings {
            let v = self.clusters[c].words_at(&words);
            if !variants.contains(&v) {
                variants.push(v);
            }
        }
        if variants.len() < self.cfg.min_variants.max(2) {
            return self.create(msg, toks);
        }
        for c in siblings.into_iter().filter(|&c| c != best) {
            let slots = self.clusters[c].slots.clone();
            self.merge(c, best);
            self.update(best, |b| b.generalize_with(&slots));
        }
        self.update(best, |c| c.generalize(msg, toks));
        best
    }

    fn create(&mut self, msg: &str, toks: &[Token]) -> usize {
        let id = self.clusters.len();
        self.clusters
            .push(Cluster::new(id, self.templates.len(), msg, toks));
        self.templates.push(Template::new(id));
        self.index.insert(id, &self.clusters[id].slots);
        self.changed(id);
        id
    }

    fn render(&mut self, c: usize) {
        self.templates[self.clusters[c].pos].text = self.clusters[c].render();
    }

    /// Applies `f` to cluster `c`'s template, keeping the index in step; if it
    /// reports a change, see [`LogMiner::changed`].
    fn update(&mut self, c: usize, f: impl FnOnce(&mut Cluster) -> bool) {
        self.index.remove(c, &self.clusters[c].slots);
        let changed = f(&mut self.clusters[c]);
        self.index.insert(c, &self.clusters[c].slots);
        if changed {
            self.changed(c);
        }
    }

    /// After cluster `c` was created or gained variables: register its skeleton,
    /// merge in the templates it now covers, and render its text.
    fn changed(&mut self, c: usize) {
        let mut key = Vec::new();
        skeleton_key(
            self.clusters[c]
                .slots
                .iter()
                .filter_map(|s| s.word.as_deref()),
            &mut key,
        );
        self.skeletons.entry(key.into_boxed_slice()).or_insert(c);
        let covered: Vec<usize> = self
            .index
            .sharing_rarest(&self.clusters[c].slots)
            .into_iter()
            .filter(|&d| d != c && self.clusters[c].covers(&self.clusters[d].slots))
            .collect();
        for d in covered {
            self.merge(d, c);
        }
        self.render(c);
    }

    /// Merges live cluster `from` into live cluster `into` (counts, examples, dates).
    fn merge(&mut self, from: usize, into: usize) {
        if from == into || self.clusters[from].parent != from {
            return; // already merged (covered by a template that changed meanwhile)
        }
        self.index.remove(from, &self.clusters[from].slots);
        self.clusters[from].parent = into;
        let gone = self.templates.remove(self.clusters[from].pos);
        for t in &self.templates[self.clusters[from].pos..] {
            self.clusters[t.id].pos -= 1;
        }
        let max = self.cfg.max_examples;
        let t = &mut self.templates[self.clusters[into].pos];
        t.count += gone.count;
        t.first_seen = [t.first_seen, gone.first_seen].into_iter().flatten().min();
        t.last_seen = [t.last_seen, gone.last_seen].into_iter().flatten().max();
        for e in gone.examples {
            if t.examples.len() < max && !t.examples.contains(&e) {
                t.examples.push(e);
            }
        }
    }

    /// [`LogMiner::resolve`], shortening the path on the way.
    fn find(&mut self, id: usize) -> usize {
        let root = self.resolve(id);
        let mut i = id;
        while i != root {
            let next = self.clusters[i].parent;
            self.clusters[i].parent = root;
            i = next;
        }
        root
    }
}

impl Default for LogMiner {
    fn default() -> Self {
        LogMiner::new(MinerConfig::default())
    }
}

impl std::fmt::Debug for LogMiner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMiner")
            .field("cfg", &self.cfg)
            .field("templates", &self.templates.len())
            .finish()
    }
}
