use super::*;

const LCOV: &str = "TN:\nSF:/home/ci/repo/src/lib.rs\nFN:1,main\nDA:1,1\nDA:2,0\nDA:3,0\nDA:4,5\nDA:7,0\nLF:5\nLH:2\nend_of_record\nSF:/home/ci/repo/src/util.rs\nDA:1,3\nDA:2,1\nend_of_record\n";

const COBERTURA: &str = r#"<?xml version="1.0" ?>
<coverage version="7.4" line-rate="0.5">
  <sources><source>/home/ci/repo</source></sources>
  <packages><package name="app"><classes>
    <class name="views.py" filename="app/views.py" line-rate="0.5">
      <methods/>
      <lines>
        <line number="1" hits="1"/>
        <line number="2" hits="0"/>
        <line number="3" hits="0"/>
        <line number="9" hits="2"/>
      </lines>
    </class>
    <class name="models.py" filename="app/models.py" line-rate="1"><lines><line number="1" hits="4"/></lines></class>
  </classes></package></packages>
</coverage>"#;

#[test]
fn reads_lcov() {
    let mut files = parse_report(LCOV).unwrap();
    relativize(&mut files, "/home/ci/repo/");
    assert_eq!(
        files[0],
        FileCoverage {
            path: "src/lib.rs".into(),
            lines_found: 5,
            lines_hit: 2,
            uncovered: vec![2, 3, 7]
        }
    );
    assert_eq!(files[1].uncovered, Vec::<u32>::new());
    assert_eq!(files[0].percent(), 40.0);
}

#[test]
fn reads_cobertura() {
    let files = parse_report(COBERTURA).unwrap();
    let views = files.iter().find(|f| f.path == "app/views.py").unwrap();
    assert_eq!(
        (views.lines_found, views.lines_hit, views.uncovered.clone()),
        (4, 2, vec![2, 3])
    );
    assert!(
        files
            .iter()
            .any(|f| f.path == "app/models.py" && f.uncovered.is_empty())
    );
}

#[test]
fn malformed_reports_say_where() {
    let e = parse_lcov("SF:a.rs\nDA:x,1\nend_of_record\n").unwrap_err();
    assert_eq!(
        e,
        CoverageError::Malformed {
            format: "lcov",
            line: 2,
            message: "expected DA:<line>,<hits>, got `DA:x,1`".into()
        }
    );
    assert!(matches!(
        parse_lcov("DA:1,1\n"),
        Err(CoverageError::Malformed { line: 1, .. })
    ));
    assert!(matches!(
        parse_cobertura("<coverage><class filename=\"a\"><line number=\"1\"/></class></coverage>"),
        Err(CoverageError::Malformed { .. })
    ));
    assert_eq!(parse_report("hello"), Err(CoverageError::UnknownFormat));
}

#[test]
fn ranks_by_uncovered_lines_times_churn() {
    let files = vec![
        FileCoverage {
            path: "a.rs".into(),
            lines_found: 100,
            lines_hit: 50,
            uncovered: (1..=50).collect(),
        },
        FileCoverage {
            path: "b.rs".into(),
            lines_found: 20,
            lines_hit: 10,
            uncovered: (1..=10).collect(),
        },
        FileCoverage {
            path: "c.rs".into(),
            lines_found: 5,
            lines_hit: 5,
            uncovered: vec![],
        },
    ];
    let churn =
        parse_churn("\0\nb.rs\na.rs\n\0\nb.rs\n\0\nb.rs\n\0\nb.rs\n\0\nb.rs\n\0\nb.rs\n\0\n");
    assert_eq!(churn["b.rs"], 6);
    let ranked = rank(&files, &churn);
    assert_eq!(
        ranked
            .iter()
            .map(|r| r.file.path.as_str())
            .collect::<Vec<_>>(),
        ["a.rs", "b.rs"]
    );
    assert_eq!((ranked[0].score, ranked[1].score), (100, 70));
    let churn = parse_churn(&"\0\nb.rs\n".repeat(10));
    assert_eq!(
        rank(&files, &churn)[0].file.path,
        "b.rs",
        "churn lifts a smaller gap above a bigger one"
    );
}

#[test]
fn findings_name_the_file_and_the_line_ranges() {
    let files = vec![FileCoverage {
        path: "src/lib.rs".into(),
        lines_found: 10,
        lines_hit: 5,
        uncovered: vec![2, 3, 4, 8, 10],
    }];
    let ranked = rank(&files, &HashMap::new());
    let f = &findings(&ranked, 3, 1)[0];
    assert_eq!(f.kind, FindingKind::PoorCoverage);
    assert_eq!(f.title, "Write tests for src/lib.rs");
    assert!(f.description.contains("2-4, 8, 10"), "{}", f.description);
    assert!(
        f.acceptance_criteria[1].contains("from 50.0% to at least 75%"),
        "{:?}",
        f.acceptance_criteria
    );
    assert_eq!(
        f.fingerprint,
        findings(&ranked, 3, 1)[0].fingerprint,
        "stable"
    );
    assert!(
        findings(&ranked, 3, 6).is_empty(),
        "too few uncovered lines to bother"
    );
}
