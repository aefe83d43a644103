//! Every shell example in README.md and docs/*.md runs as written (issue 15): see
//! `franking_tests::docs` for the runner and its annotations (`server`, `env`, `root`,
//! `postgres`, `skip=REASON`, `output`). `DOCS_ONLY=api.md` runs the files whose path ends so.

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
