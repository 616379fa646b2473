//! Markdown the roles write (verdicts, reports, pull request bodies).

/// `s` as one cell of a pipe table: pipes escaped, line breaks flattened.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}
