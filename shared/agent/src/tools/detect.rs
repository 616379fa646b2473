//! Which command runs a repository's tests, guessed from its files when the
//! operator did not configure one. The worker runs it itself after the agent says
//! it is done: the model's claim that tests pass does not count.

use std::path::Path;

/// The test command for the checkout at `root`, or `None` if nothing is recognized.
/// Checked in order: Cargo, npm (a real `test` script), Python, Go, make.
pub(super) fn detect_test_command(root: &Path) -> Option<String> {
    if root.join("Cargo.toml").is_file() {
        return Some("cargo test".into());
    }
    if npm_has_test_script(&root.join("package.json")) {
        return Some("npm test".into());
    }
    if ["pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini"]
        .iter()
        .any(|f| root.join(f).is_file())
        || has_python_tests(&root.join("tests"))
    {
        return Some("python -m pytest -q".into());
    }
    if root.join("go.mod").is_file() {
        return Some("go test ./...".into());
    }
    if ["GNUmakefile", "makefile", "Makefile"]
        .iter()
        .any(|f| makefile_has_test_target(&root.join(f)))
    {
        return Some("make test".into());
    }
    None
}

fn npm_has_test_script(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    json.pointer("/scripts/test")
        .and_then(|t| t.as_str())
        // `npm init` writes a test script that only fails.
        .is_some_and(|t| !t.trim().is_empty() && !t.contains("no test specified"))
}

fn has_python_tests(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "py"))
    })
}

/// A rule line whose targets include `test` (`test:`, `check test: deps`), not a
/// variable assignment (`test := x`) or a recipe line.
fn makefile_has_test_target(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    text.lines().any(|line| {
        if line.starts_with(['\t', ' ', '#', '.']) {
            return false;
        }
        let Some((targets, rest)) = line.split_once(':') else {
            return false;
        };
        !rest.starts_with('=') && targets.split_whitespace().any(|t| t == "test")
    })
}
