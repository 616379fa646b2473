//! Tokenisation and masking: turns a message into constant words and variables.
//!
//! This is the only place where the miner decides what "looks variable", and it
//! does so with rules that hold for any log format rather than per-dataset regexes:
//!
//! - messages split on ASCII whitespace, and `key=value` splits after the `=`, so
//!   the key stays a constant while the value can vary (`uid=<*>`);
//! - a token is a variable when it holds a digit (numbers, IPs, ports, hex, block
//!   ids, paths with numbers), is a date word (`Jun`, `Fri`), is an empty bracket
//!   pair (`()`, `[]`: an empty value), or is a host name (`ns.example.com`);
//! - a unit right after a variable (`5 sec`, `(18.4 KB)`) belongs to the variable;
//! - runs of variables collapse into one, so a list of ids or a timestamp written
//!   as several words is one variable whatever its length.
//!
//! Tokens are byte ranges into the message, so tokenising does not allocate once
//! the caller's buffer has grown.

/// One token: a byte range of the message, whether it is a variable, and whether
/// it followed the previous token without whitespace (a `key=` value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
    pub var: bool,
    pub glued: bool,
}

impl Token {
    /// The token's text in `msg` (the message it was cut from).
    pub fn text<'a>(&self, msg: &'a str) -> &'a str {
        msg.get(self.start..self.end).unwrap_or("")
    }
}

/// Splits `msg` into tokens, replacing the contents of `out`.
pub(crate) fn tokenize(msg: &str, out: &mut Vec<Token>) {
    out.clear();
    let b = msg.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        if start == i {
            break;
        }
        // `=` is ASCII, so both halves are on char boundaries.
        match memchr::memchr(b'=', &b[start..i]) {
            Some(p) if start + p + 1 < i => {
                push(b, start, start + p + 1, false, out);
                push(b, start + p + 1, i, true, out);
            }
            _ => push(b, start, i, false, out),
        }
    }
}

fn push(b: &[u8], start: usize, end: usize, glued: bool, out: &mut Vec<Token>) {
    let part = &b[start..end];
    let after_var = out.last().is_some_and(|t| t.var);
    if is_variable(part) {
        if after_var {
            return; // collapse a run of variables into one
        }
        out.push(Token {
            start,
            end,
            var: true,
            glued,
        });
    } else if after_var && is_unit(part) {
        // `5 sec`: the unit is part of the variable before it
    } else {
        out.push(Token {
            start,
            end,
            var: false,
            glued,
        });
    }
}

/// Whether a token (a whitespace-separated word or half of a `key=value`) varies.
pub fn is_variable(t: &[u8]) -> bool {
    t.iter().any(u8::is_ascii_digit) || is_date_word(t) || is_empty_brackets(t) || is_hostname(t)
}

const DATE_WORDS: [&[u8]; 19] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
    b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun",
];

/// Month and weekday abbreviations: parts of a timestamp.
fn is_date_word(t: &[u8]) -> bool {
    t.len() == 3 && DATE_WORDS.contains(&t)
}

/// `()`, `[]`, `""`...: brackets around an empty value (trailing punctuation allowed).
fn is_empty_brackets(t: &[u8]) -> bool {
    let t = trim_end(t, b",;:.");
    matches!(t, b"()" | b"[]" | b"{}" | b"<>" | b"\"\"" | b"''")
}

const UNITS: [&[u8]; 30] = [
    b"ms", b"s", b"sec", b"secs", b"second", b"seconds", b"min", b"mins", b"minute", b"minutes",
    b"h", b"hr", b"hrs", b"hour", b"hours", b"day", b"days", b"B", b"KB", b"MB", b"GB", b"TB",
    b"kB", b"KiB", b"MiB", b"GiB", b"k", b"K", b"byte", b"bytes",
];

/// A unit of time or size, possibly closing a bracket or a clause (`KB)`, `sec,`).
fn is_unit(t: &[u8]) -> bool {
    UNITS.contains(&trim_end(t, b").,;:]"))
}

const GENERIC_TLDS: [&[u8]; 10] = [
    b"com", b"net", b"org", b"edu", b"gov", b"mil", b"int", b"info", b"biz", b"io",
];

/// A DNS name: dot-separated labels of letters, digits and `-`, ending in a generic
/// top-level domain, or in a two-letter country code after at least two labels.
/// Dotted code identifiers (`rpc.statd`, `NameSystem.delete:`) do not qualify.
fn is_hostname(t: &[u8]) -> bool {
    if memchr::memchr(b'.', t).is_none() {
        return false;
    }
    let t = trim_start(trim_end(t, b"()[]<>,;:'\""), b"()[]<>'\"");
    let valid =
        |l: &&[u8]| !l.is_empty() && l.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-');
    let labels: Vec<&[u8]> = t.split(|&c| c == b'.').collect();
    if labels.len() < 2 || !labels.iter().all(valid) {
        return false;
    }
    let Some(last) = labels.last() else {
        return false;
    };
    if GENERIC_TLDS.iter().any(|g| last.eq_ignore_ascii_case(g)) {
        return true;
    }
    labels.len() >= 3 && last.len() == 2 && last.iter().all(u8::is_ascii_lowercase)
}

fn trim_end<'a>(mut t: &'a [u8], chars: &[u8]) -> &'a [u8] {
    while let [rest @ .., last] = t {
        if !chars.contains(last) {
            break;
        }
        t = rest;
    }
    t
}

fn trim_start<'a>(mut t: &'a [u8], chars: &[u8]) -> &'a [u8] {
    while let [first, rest @ ..] = t {
        if !chars.contains(first) {
            break;
        }
        t = rest;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message as the miner sees it: constants, and `<*>` for variables.
    fn masked(msg: &str) -> String {
        let mut toks = Vec::new();
        tokenize(msg, &mut toks);
        let words: Vec<&str> = toks
            .iter()
            .map(|t| if t.var { "<*>" } else { t.text(msg) })
            .collect();
        words.join(" ")
    }

    #[test]
    fn numbers_ips_and_ids_are_variables() {
        assert_eq!(
            masked("connected to 10.0.0.1 port 22"),
            "connected to <*> port <*>"
        );
        assert_eq!(
            masked("Deleting block blk_-42 file /data/subdir5/blk_-42"),
            "Deleting block <*> file <*>"
        );
        assert_eq!(masked("mapped at 0xfc0ce"), "mapped at <*>");
        assert_eq!(masked("  spaced\tout  "), "spaced out");
        assert_eq!(masked(""), "");
    }

    #[test]
    fn key_value_keeps_the_key() {
        assert_eq!(
            masked("logname= uid=0 euid=0 tty=ssh"),
            "logname= uid= <*> euid= <*> tty= ssh"
        );
        let mut toks = Vec::new();
        tokenize("uid=0", &mut toks);
        assert!(toks[1].glued && toks[1].var);
    }

    #[test]
    fn runs_of_variables_collapse() {
        assert_eq!(masked("delete blk_1 blk_2 blk_3"), "delete <*>");
        assert_eq!(masked("at Fri Jun 17 07:07:00 2005"), "at <*>");
        assert_eq!(masked("from 1.2.3.4 () at"), "from <*> at");
    }

    #[test]
    fn units_belong_to_their_value() {
        assert_eq!(
            masked("451 bytes (18.4 KB) sent, lifetime <1 sec"),
            "<*> sent, lifetime <*>"
        );
        assert_eq!(
            masked("0 bytes sent, lifetime 00:01"),
            "<*> sent, lifetime <*>"
        );
        assert_eq!(masked("sec and more"), "sec and more");
    }

    #[test]
    fn host_names_but_not_code_identifiers() {
        assert!(is_hostname(b"ns.marryaldkfaczcz.com"));
        assert!(is_hostname(b"(host.example.org)"));
        assert!(is_hostname(b"proxy.cse.cuhk.edu.hk"));
        assert!(!is_hostname(b"rpc.statd"));
        assert!(!is_hostname(b"NameSystem.delete:"));
        assert!(!is_hostname(b"main.rs"));
        assert!(!is_hostname(b"a..com"));
    }
}
