use super::*;

fn dep(ecosystem: Ecosystem, name: &str, manifest: &str) -> Dependency {
    Dependency {
        ecosystem,
        name: name.into(),
        manifest: manifest.into(),
    }
}

#[test]
fn manifest_file_names() {
    for path in [
        "Cargo.toml",
        "crates/x/Cargo.toml",
        "web/package.json",
        "requirements.txt",
        "requirements-dev.txt",
        "svc/requirements/base.txt",
        "pyproject.toml",
    ] {
        assert!(is_manifest(path), "{path}");
    }
    for path in [
        "Cargo.lock",
        "package-lock.json",
        "notes.txt",
        "cargo.toml",
        "src/requirements.py",
    ] {
        assert!(!is_manifest(path), "{path}");
    }
}

#[test]
fn only_dependencies_missing_before_are_new() {
    let before = "[dependencies]\nserde = \"1\"\n";
    let after = "[dependencies]\nserde = \"1\"\nanyhow = \"1\"\n[dev-dependencies]\nanyhow = \"1\"\nzzz = \"0.1\"\n";
    assert_eq!(
        new_dependencies("a/Cargo.toml", Some(before), Some(after)).unwrap(),
        [
            dep(Ecosystem::Crates, "anyhow", "a/Cargo.toml"),
            dep(Ecosystem::Crates, "zzz", "a/Cargo.toml")
        ]
    );
}

#[test]
fn new_and_deleted_files() {
    let pkg = r#"{"dependencies": {"left-pad": "1"}}"#;
    assert_eq!(
        new_dependencies("package.json", None, Some(pkg)).unwrap(),
        [dep(Ecosystem::Npm, "left-pad", "package.json")]
    );
    assert!(
        new_dependencies("package.json", Some(pkg), None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn python_renames_by_spelling_are_not_new() {
    let deps = new_dependencies(
        "requirements.txt",
        Some("Foo_Bar==1\n"),
        Some("foo-bar==2\nnew.pkg\n"),
    )
    .unwrap();
    assert_eq!(deps, [dep(Ecosystem::PyPI, "new-pkg", "requirements.txt")]);
}

#[test]
fn unparseable_after_is_an_error_naming_the_file() {
    let err = new_dependencies("svc/pyproject.toml", None, Some("[project\n")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("svc/pyproject.toml: invalid TOML at line 1"),
        "{err}"
    );
    let err = new_dependencies("README.md", None, Some("x")).unwrap_err();
    assert_eq!(
        err,
        ManifestError::Unsupported {
            file: "README.md".into()
        }
    );
}

#[test]
fn unparseable_before_checks_everything() {
    let deps = new_dependencies(
        "Cargo.toml",
        Some("[oops"),
        Some("[dependencies]\nserde = \"1\"\n"),
    )
    .unwrap();
    assert_eq!(deps, [dep(Ecosystem::Crates, "serde", "Cargo.toml")]);
}

#[test]
fn ecosystem_names() {
    assert_eq!(Ecosystem::PyPI.to_string(), "pypi");
    assert_eq!(serde_json::to_value(Ecosystem::Crates).unwrap(), "crates");
    assert_eq!(
        serde_json::from_value::<Ecosystem>("npm".into()).unwrap(),
        Ecosystem::Npm
    );
    assert_eq!(Ecosystem::Crates.registry_name(), "crates.io");
}
