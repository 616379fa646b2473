//! PEP 440 versions, parsed and ordered as `packaging.version.Version` does, so
//! that OSV `ECOSYSTEM` ranges for PyPI compare the way pip and osv.dev do.
//!
//! Covered: epochs (`1!2.0`), release segments of any length with trailing zeros
//! insignificant (`1.0 == 1.0.0`), pre-releases with their alternative spellings
//! (`alpha`→`a`, `beta`→`b`, `c`/`pre`/`preview`→`rc`), post-releases including
//! the implicit `1.0-1` and `rev`/`r`, dev releases, and local versions. The
//! order is `1.0.dev1 < 1.0a1 < 1.0 < 1.0+local < 1.0.post1`, a dev release of
//! a pre or post release sorting just below it. Legacy (non-PEP 440) versions
//! are rejected: pip no longer installs them either.

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// The canonical pattern from the PEP 440 appendix (as in `packaging`).
static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*v?
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\.[0-9]+)*)
        (?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
        (?:(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
        (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
        (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
        \s*$",
    )
    .expect("the PEP 440 pattern is a valid regex")
});

/// Pre-release phases, in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Alpha,
    Beta,
    Rc,
}

/// A local version segment: strings sort before numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Local {
    Str(String),
    Num(u64),
}

#[derive(Debug, Clone)]
pub struct Pep440Version {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(Phase, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Vec<Local>,
    text: String,
}

/// Why a string is not a PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidVersion(pub String);

impl fmt::Display for InvalidVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a PEP 440 version", self.0)
    }
}

impl std::error::Error for InvalidVersion {}

fn number(s: &str, whole: &str) -> Result<u64, InvalidVersion> {
    s.parse().map_err(|_| InvalidVersion(whole.to_string()))
}

impl Pep440Version {
    pub fn parse(s: &str) -> Result<Self, InvalidVersion> {
        let bad = || InvalidVersion(s.to_string());
        let caps = PATTERN.captures(s).ok_or_else(bad)?;
        let opt_num = |name: &str| -> Result<Option<u64>, InvalidVersion> {
            caps.name(name).map(|m| number(m.as_str(), s)).transpose()
        };
        let epoch = opt_num("epoch")?.unwrap_or(0);
        let release = caps
            .name("release")
            .ok_or_else(bad)?
            .as_str()
            .split('.')
            .map(|p| number(p, s))
            .collect::<Result<Vec<_>, _>>()?;
        let pre = match caps.name("pre_l") {
            None => None,
            Some(l) => {
                let phase = match l.as_str().to_ascii_lowercase().as_str() {
                    "a" | "alpha" => Phase::Alpha,
                    "b" | "beta" => Phase::Beta,
                    _ => Phase::Rc,
                };
                Some((phase, opt_num("pre_n")?.unwrap_or(0)))
            }
        };
        let post = match (opt_num("post_n1")?, caps.name("post_l")) {
            (Some(n), _) => Some(n),
            (None, Some(_)) => Some(opt_num("post_n2")?.unwrap_or(0)),
            (None, None) => None,
        };
        let dev = match caps.name("dev_l") {
            Some(_) => Some(opt_num("dev_n")?.unwrap_or(0)),
            None => None,
        };
        let local = caps
            .name("local")
            .map(|m| {
                m.as_str()
                    .split(['-', '_', '.'])
                    .map(|seg| match seg.parse::<u64>() {
                        Ok(n) if seg.bytes().all(|b| b.is_ascii_digit()) => Local::Num(n),
                        _ => Local::Str(seg.to_ascii_lowercase()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
            text: s.trim().to_string(),
        })
    }

    /// The release segment without its trailing zeros (`1.0.0` is `1`).
    fn release_key(&self) -> &[u64] {
        let len = self
            .release
            .iter()
            .rposition(|&n| n != 0)
            .map_or(0, |i| i + 1);
        &self.release[..len]
    }

    /// `packaging`'s `_cmpkey` pre component: a bare dev release sorts before any
    /// pre-release of the same version, a final release after all of them.
    fn pre_key(&self) -> (u8, Option<(Phase, u64)>) {
        match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (0, None),
            (None, _, _) => (2, None),
            (Some(p), _, _) => (1, Some(p)),
        }
    }

    /// No dev release sorts after any dev release.
    fn dev_key(&self) -> (bool, u64) {
        match self.dev {
            Some(n) => (false, n),
            None => (true, 0),
        }
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.release_key().cmp(other.release_key()))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| self.post.cmp(&other.post))
            .then_with(|| self.dev_key().cmp(&other.dev_key()))
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version {}

impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Pep440Version {
    type Err = InvalidVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Pep440Version {
        Pep440Version::parse(s).expect("valid version")
    }

    #[test]
    fn spellings_normalise() {
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("1.0alpha1"), v("1.0a1"));
        assert_eq!(v("1.0-preview.2"), v("1.0rc2"));
        assert_eq!(v("1.0-1"), v("1.0.post1"));
        assert_eq!(v("1.0rev"), v("1.0.post0"));
        assert_eq!(v("V1.0.DEV"), v("1.0.dev0"));
        assert!(Pep440Version::parse("1.0-foo").is_err());
        assert!(Pep440Version::parse("").is_err());
    }

    #[test]
    fn dev_of_pre_and_post() {
        assert!(v("1.0a1.dev1") < v("1.0a1"));
        assert!(v("1.0.post1.dev1") < v("1.0.post1"));
        assert!(v("1.0") < v("1.0.post1.dev1"));
        assert!(v("1.0+abc") < v("1.0+1"));
        assert!(v("1.0+1") < v("1.0+1.0"));
    }
}
