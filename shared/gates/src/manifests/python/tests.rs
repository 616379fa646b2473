use super::*;

fn list(names: BTreeSet<String>) -> Vec<String> {
    names.into_iter().collect()
}

#[test]
fn pep503_normalisation() {
    assert_eq!(normalise_pypi_name("Foo__Bar.baz-QUX"), "foo-bar-baz-qux");
    assert_eq!(normalise_pypi_name("requests"), "requests");
    assert_eq!(normalise_pypi_name("zope.interface"), "zope-interface");
}

#[test]
fn pep508_names_versions_extras_markers_and_direct_references() {
    assert_eq!(
        pep508_name("requests>=2.31").unwrap().as_deref(),
        Some("requests")
    );
    assert_eq!(
        pep508_name("Django[argon2, bcrypt] ~= 5.0")
            .unwrap()
            .as_deref(),
        Some("django")
    );
    assert_eq!(
        pep508_name("pywin32; sys_platform == 'win32'")
            .unwrap()
            .as_deref(),
        Some("pywin32")
    );
    assert_eq!(
        pep508_name("numpy (>=1.26)").unwrap().as_deref(),
        Some("numpy")
    );
    assert_eq!(
        pep508_name("typing_extensions").unwrap().as_deref(),
        Some("typing-extensions")
    );
    assert_eq!(
        pep508_name("pkg @ https://example.com/pkg.whl").unwrap(),
        None
    );
    assert_eq!(pep508_name("pkg[extra]@ git+https://x/y").unwrap(), None);
    assert!(pep508_name("-weird").is_err());
    assert!(pep508_name("name what").is_err());
}

#[test]
fn requirements_files_skip_options_urls_paths_and_comments() {
    let text = "\
# pinned for prod
-r base.txt
-c constraints.txt
--index-url https://pypi.org/simple
-e git+https://github.com/x/y.git#egg=y
./local/pkg
https://example.com/archive.tar.gz
wheels/foo-1.0-py3-none-any.whl
Flask==3.0.0  # web
requests[socks]>=2.31 ; python_version >= \"3.8\"
SQLAlchemy \\
    >=2.0 \\
    --hash=sha256:abc
mypkg @ https://example.com/mypkg-1.0.tar.gz
python-dateutil
";
    assert_eq!(
        list(requirements_names(text).unwrap()),
        ["flask", "python-dateutil", "requests", "sqlalchemy"]
    );
}

#[test]
fn requirements_errors_name_the_line() {
    let err = requirements_names("requests\n\n!!nonsense\n").unwrap_err();
    assert_eq!(
        err,
        "line 3: `!!nonsense` does not start with a package name"
    );
}

#[test]
fn pyproject_pep621_groups_build_and_poetry() {
    let text = r#"
[build-system]
requires = ["hatchling>=1.18"]

[project]
name = "app"
dependencies = ["httpx>=0.27", "Pydantic[email]>=2", "local @ file:///src/local"]

[project.optional-dependencies]
cli = ["rich", "typer>=0.9"]

[dependency-groups]
test = ["pytest>=8", { include-group = "lint" }]
lint = ["ruff"]

[tool.poetry.dependencies]
python = "^3.11"
fastapi = "^0.110"
mylib = { path = "../mylib", develop = true }
forked = { git = "https://github.com/x/forked.git" }
torch = { version = "2.2", source = "pytorch" }
uvicorn = { version = "^0.29", extras = ["standard"] }
numpy = [{ version = "1.26", python = "<3.13" }, { version = "2.0", python = ">=3.13" }]

[tool.poetry.dev-dependencies]
black = "^24"

[tool.poetry.group.docs.dependencies]
mkdocs_material = "^9"
"#;
    assert_eq!(
        list(pyproject_names(text).unwrap()),
        [
            "black",
            "fastapi",
            "hatchling",
            "httpx",
            "mkdocs-material",
            "numpy",
            "pydantic",
            "pytest",
            "rich",
            "ruff",
            "typer",
            "uvicorn"
        ]
    );
}

#[test]
fn pyproject_errors_say_which_table() {
    assert_eq!(
        pyproject_names("[project]\ndependencies = \"requests\"\n").unwrap_err(),
        "`project.dependencies` is not a list"
    );
    assert_eq!(
        pyproject_names("[project]\ndependencies = [\"??\"]\n").unwrap_err(),
        "`project.dependencies`: `??` does not start with a package name"
    );
    assert!(
        pyproject_names("[project\n")
            .unwrap_err()
            .starts_with("invalid TOML at line 1")
    );
}
