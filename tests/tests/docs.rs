//! Every shell example in README.md and docs/*.md runs as written (issue 15): see
//! `franking_tests::docs` for the runner and its annotations (`server`, `env`, `root`,
//! `postgres`, `skip=REASON`, `output`). `DOCS_ONLY=api.md` runs the files whose path ends so.

#![allow(clippy::unwrap_used)]

use franking_tests::docs;

#[test]
fn doc_examples_run_as_written() {
    let bin_dir = match docs::build_binaries() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let only = std::env::var("DOCS_ONLY").ok();
    let mut failures = Vec::new();
    let (mut ran, mut files) = (0, 0);
    for file in docs::doc_files() {
        if only.as_deref().is_some_and(|o| !file.ends_with(o)) {
            continue;
        }
        let started = std::time::Instant::now();
        let report = docs::run_file(&file, &bin_dir);
        files += 1;
        ran += report.ran;
        println!(
            "{}: {} blocks run, {} failed, {:.1}s",
            file.display(),
            report.ran,
            report.failures.len(),
            started.elapsed().as_secs_f64()
        );
        for s in &report.skipped {
            println!("  {s}");
        }
        failures.extend(report.failures);
    }
    println!("doc examples: {ran} blocks run in {files} files");
    assert!(ran > 0 || only.is_some(), "no doc block ran");
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// The runner can fail: a failing command names its block's line and shows its output; a block's
/// output that differs from its `output` block fails; variables carry over between blocks.
#[test]
fn drifting_examples_fail_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("franking-docs-self-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin_dir = std::path::Path::new("/nonexistent");
    let doc = dir.join("drift.md");
    std::fs::write(
        &doc,
        "# t\n\n```sh\nX=41\necho start\n```\n\n```sh\necho \"x=$((X + 1))\"\n```\n\n\
         ```text output\nx=4[..]\n```\n\n```sh skip=not run\nfalse\n```\n\n\
         ```sh\necho broken >&2\nfalse\necho never\n```\n",
    )
    .unwrap();
    let r = docs::run_file(&doc, bin_dir);
    assert_eq!(r.ran, 3);
    assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    let f = &r.failures[0];
    assert!(f.contains("drift.md:20: block failed"), "{f}");
    assert!(f.contains("broken") && !f.contains("never"), "{f}");

    std::fs::write(
        &doc,
        "```sh\necho 'id: case_x'\n```\n\n```json output\nid: rep_[..]\n```\n",
    )
    .unwrap();
    let r = docs::run_file(&doc, bin_dir);
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    assert!(
        r.failures[0].contains("drift.md:5: output differs from the block at line 1"),
        "{:?}",
        r.failures
    );
    let _ = std::fs::remove_dir_all(&dir);
}
