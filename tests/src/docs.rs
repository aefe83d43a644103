//! The doc runner: every ```` ```sh ```` block of README.md and docs/*.md runs as written, against
//! the workspace's built binaries and, where a file asks for one, a real report server.
//!
//! How a file runs (see docs/architecture.md, *Doc examples*):
//! - Its `sh` blocks run in order in **one** bash session (`set -euo pipefail`), in a fresh
//!   temporary directory, with `franking`, `franking-attacks` and `report-server` (debug builds of
//!   this workspace) first on `PATH`. `cargo run [--release] -p PKG [--bin BIN | --example EX] --
//!   ARGS` runs the already-built binary (a `cargo` shim); any other cargo command fails and
//!   must be `skip`ped.
//!   `curl` answers an HTTP error by failing (a `.curlrc` with `--fail-with-body --silent
//!   --show-error`): an example that expects an error says so (`|| echo "409 as expected"`).
//! - Annotations, in the fence info string (```` ```sh server ````) or in a comment on the line
//!   before the fence (`<!-- docs: server -->`):
//!   - `server`: a report server (SQLite in a temporary directory, dev bootstrap) is started for
//!     the file before its first block; `FRANKING_SERVER`, `ADMIN_TOKEN`, `MODERATOR_TOKEN`,
//!     `RELAY_TOKEN` and `SERVICE_TOKEN` hold its URL and the tokens it printed.
//!   - `env`: the block shows variables the reader already has (placeholders): it is not run.
//!   - `root`: the block runs in the repository root instead of the temporary directory.
//!   - `postgres`: the block needs PostgreSQL (it reads `TEST_DATABASE_URL`). Without it the
//!     block is skipped (a failure under `CI=true`).
//!   - `skip=REASON`: not run; the reason is printed in the test's output.
//! - A block fenced ```` ```text output ```` (or `json output`) right after a `sh` block is the
//!   expected end of that block's output (stdout and stderr): lines compare after trimming trailing space,
//!   `[..]` inside a line matches any text (tokens, ids, timestamps), a line `...` any number of
//!   lines.
//!
//! A failing file is reported with the `file:line` of the failing block and its output.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The most one file's blocks may take.
const FILE_TIMEOUT: Duration = Duration::from_secs(300);

/// What a block's annotations ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// Start a report server for the file.
    pub server: bool,
    /// Placeholders the reader already has: not run.
    pub env: bool,
    /// Run in the repository root.
    pub root: bool,
    /// Needs PostgreSQL.
    pub postgres: bool,
    /// Not run, for this reason.
    pub skip: Option<String>,
}

/// One fenced block of a Markdown file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The fence's language (`sh`, `text`, `json`, ...).
    pub lang: String,
    /// Its annotations.
    pub ann: Annotations,
    /// Whether it is the expected output of the block before it.
    pub output: bool,
    /// The lines between the fences.
    pub body: String,
}

/// Parse the words after the language (or in a `<!-- docs: ... -->` comment). `skip=` takes the
/// rest of the words as its reason.
fn parse_words(words: &str, ann: &mut Annotations, output: &mut bool) -> Result<(), String> {
    let mut rest = words.split_whitespace();
    while let Some(w) = rest.next() {
        match w {
            "server" => ann.server = true,
            "env" => ann.env = true,
            "root" => ann.root = true,
            "postgres" => ann.postgres = true,
            "output" => *output = true,
            _ if w.starts_with("skip=") => {
                let mut reason = w["skip=".len()..].to_owned();
                for more in rest.by_ref() {
                    reason.push(' ');
                    reason.push_str(more);
                }
                if reason.trim().is_empty() {
                    return Err("skip= needs a reason".into());
                }
                ann.skip = Some(reason);
            }
            _ => return Err(format!("unknown annotation {w:?}")),
        }
    }
    Ok(())
}

/// The fenced blocks of a Markdown text.
pub fn parse(text: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        // Fences may be indented (inside a list item); the body loses the same indentation.
        let indent = lines[i].len() - lines[i].trim_start().len();
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let start = i;
        let (lang, words) = info.trim().split_once(' ').unwrap_or((info.trim(), ""));
        let mut ann = Annotations::default();
        let mut output = false;
        let at = |e: String| format!("line {}: {e}", start + 1);
        if lang == "sh" || lang == "text" || lang == "json" {
            parse_words(words, &mut ann, &mut output).map_err(at)?;
            if let Some(c) = comment_before(&lines, start) {
                parse_words(c, &mut ann, &mut output).map_err(at)?;
            }
        }
        let mut body = String::new();
        i += 1;
        while i < lines.len() && !lines[i].trim_start().starts_with("```") {
            let line = lines[i];
            let cut = line.len() - line.trim_start().len();
            body.push_str(&line[cut.min(indent)..]);
            body.push('\n');
            i += 1;
        }
        if i == lines.len() {
            return Err(at("unclosed fence".into()));
        }
        i += 1;
        blocks.push(Block {
            line: start + 1,
            lang: lang.to_owned(),
            ann,
            output,
            body,
        });
    }
    Ok(blocks)
}

/// The words of a `<!-- docs: ... -->` comment on the nearest non-blank line before `fence`.
fn comment_before<'a>(lines: &[&'a str], fence: usize) -> Option<&'a str> {
    let prev = lines[..fence].iter().rev().find(|l| !l.trim().is_empty())?;
    prev.trim()
        .strip_prefix("<!-- docs:")?
        .strip_suffix("-->")
        .map(str::trim)
}

/// Whether `actual` matches `expected` (trailing space ignored, `[..]` any text within a line,
/// a line `...` any number of lines).
pub fn output_matches(expected: &str, actual: &str) -> bool {
    let exp: Vec<&str> = expected.lines().map(str::trim_end).collect();
    let act: Vec<&str> = actual.lines().map(str::trim_end).collect();
    lines_match(&exp, &act)
}

fn lines_match(exp: &[&str], act: &[&str]) -> bool {
    match exp.split_first() {
        None => act.is_empty(),
        Some((&"...", rest)) => (0..=act.len()).any(|k| lines_match(rest, &act[k..])),
        Some((e, rest)) => act
            .split_first()
            .is_some_and(|(a, more)| line_matches(e, a) && lines_match(rest, more)),
    }
}

fn line_matches(exp: &str, act: &str) -> bool {
    let mut parts = exp.split("[..]");
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = act.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(k) => rest = &rest[k + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// The Markdown files whose examples run: README.md and docs/*.md, in name order.
pub fn doc_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.insert(0, root.join("README.md"));
    files
}

/// The directory of the binaries the docs use: `DOCS_BIN_DIR` if set (used as it is), else this
/// build's target directory after `cargo test --workspace --no-run` — the targets, profile and
/// features `cargo test --workspace` builds (binaries and examples included), so there it is a
/// no-op.
pub fn build_binaries() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("DOCS_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/deps/<test binary>
    let bin_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("no target directory")?
        .to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(repo_root())
        .args(["test", "--quiet", "--workspace", "--no-run"])
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build failed: {status}"));
    }
    Ok(bin_dir)
}

/// A report server started for one file (the real binary, SQLite in a temporary directory).
pub struct DocServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The dev bootstrap's tokens: admin, moderator, relay, service.
    pub tokens: [String; 4],
}

impl DocServer {
    /// Start `report-server` from `bin_dir` with its data in `data_dir`; waits for its
    /// "listening" line.
    pub fn start(bin_dir: &Path, data_dir: &Path) -> Result<Self, String> {
        let mut child = Command::new(bin_dir.join("report-server"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            // No webhook deliveries: the docs' receivers are example hosts.
            .env("FRANKING_WEBHOOK_INTERVAL_MS", "0")
            .env_remove("DATABASE_URL")
            .env_remove("FRANKING_SERVER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("report-server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut tokens: [String; 4] = Default::default();
        let labels = [
            "admin token:",
            "moderator token:",
            "relay token:",
            "service token:",
        ];
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                return Err("report-server exited before listening".into());
            };
            for (slot, label) in tokens.iter_mut().zip(labels) {
                if let Some(t) = line.trim().strip_prefix(label) {
                    *slot = t.trim().to_owned();
                }
            }
            if let Some(u) = line.strip_prefix("report-server listening on ") {
                break u.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        if tokens.iter().any(String::is_empty) {
            let _ = child.kill();
            return Err("report-server printed no dev tokens".into());
        }
        Ok(Self { child, url, tokens })
    }
}

impl Drop for DocServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The outcome of one file.
#[derive(Debug, Default)]
pub struct FileReport {
    /// Blocks run.
    pub ran: usize,
    /// Skipped blocks: `file:line: reason`.
    pub skipped: Vec<String>,
    /// Failures: `file:line: what`, with output.
    pub failures: Vec<String>,
}

/// The `cargo` shim: `cargo run [--release] -p PKG [--bin BIN] -- ARGS` runs the built binary.
const CARGO_SHIM: &str = r#"#!/usr/bin/env bash
# doc runner: `cargo run` of a workspace binary runs the already-built debug binary.
set -euo pipefail
[ "${1:-}" = run ] || { echo "doc runner: only 'cargo run' runs in docs (annotate the block skip=REASON): cargo $*" >&2; exit 97; }
shift
pkg= bin= example=
while [ $# -gt 0 ]; do
  case "$1" in
    --release|--quiet|-q) shift ;;
    -p|--package) pkg=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --example) example=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "doc runner: unsupported cargo run flag $1" >&2; exit 97 ;;
  esac
done
[ -z "$example" ] || exec "$DOCS_BIN_DIR/examples/$example" "$@"
case "${bin:-$pkg}" in
  client-sdk) bin=franking ;;
  attacks) bin=franking-attacks ;;
  "") echo "doc runner: cargo run needs -p or --bin" >&2; exit 97 ;;
  *) bin=${bin:-$pkg} ;;
esac
exec "$DOCS_BIN_DIR/$bin" "$@"
"#;

/// `~/.curlrc` of the doc sessions: a 4xx/5xx answer fails the block (its body is still printed).
const CURLRC: &str = "--fail-with-body\n--silent\n--show-error\n";

/// The marker line printed before each block (to find the failing block in the output).
const MARKER: &str = "@@docs-block ";

/// Runs the `sh` blocks of one Markdown file (path relative to the repository root in reports).
pub fn run_file(path: &Path, bin_dir: &Path) -> FileReport {
    let root = repo_root();
    let name = path
        .strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string();
    let mut report = FileReport::default();
    let blocks = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| parse(&t))
    {
        Ok(b) => b,
        Err(e) => {
            report.failures.push(format!("{name}: {e}"));
            return report;
        }
    };
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let postgres = std::env::var("TEST_DATABASE_URL").ok();
    let mut script = String::from("set -euo pipefail\nexec 2>&1\n");
    let mut runnable: Vec<&Block> = Vec::new();
    let mut expected: Vec<(usize, &Block)> = Vec::new();
    for (k, b) in blocks.iter().enumerate() {
        if b.output {
            match k.checked_sub(1).map(|p| &blocks[p]) {
                Some(prev) if runnable.last().is_some_and(|r| std::ptr::eq(*r, prev)) => {
                    expected.push((runnable.len() - 1, b));
                }
                _ => report.failures.push(format!(
                    "{name}:{}: an `output` block must follow a block that runs",
                    b.line
                )),
            }
            continue;
        }
        if b.lang != "sh" {
            continue;
        }
        let why = match (&b.ann.skip, b.ann.env, b.ann.postgres && postgres.is_none()) {
            (Some(r), _, _) => Some(r.clone()),
            (None, true, _) => None,
            (None, false, true) if ci => {
                report.failures.push(format!(
                    "{name}:{}: needs TEST_DATABASE_URL (CI=true)",
                    b.line
                ));
                None
            }
            (None, false, true) => Some("no TEST_DATABASE_URL".into()),
            (None, false, false) => {
                let dir = if b.ann.root {
                    "$DOCS_ROOT"
                } else {
                    "$DOCS_TMP"
                };
                let _ = writeln!(
                    script,
                    "printf '\\n{MARKER}{}\\n'\ncd \"{dir}\"\n{}",
                    runnable.len(),
                    b.body
                );
                runnable.push(b);
                None
            }
        };
        if let Some(why) = why {
            report
                .skipped
                .push(format!("{name}:{}: skip: {why}", b.line));
        }
    }
    let _ = writeln!(script, "printf '\\n{MARKER}end\\n'");
    if runnable.is_empty() {
        return report;
    }
    report.ran = runnable.len();
    if let Err(e) = run_script(&name, &script, &runnable, &expected, bin_dir, &mut report) {
        report.failures.push(format!("{name}: {e}"));
    }
    report
}

fn run_script(
    name: &str,
    script: &str,
    runnable: &[&Block],
    expected: &[(usize, &Block)],
    bin_dir: &Path,
    report: &mut FileReport,
) -> Result<(), String> {
    let tmp = std::env::temp_dir().join(format!(
        "franking-docs-{}-{}",
        std::process::id(),
        name.replace(['/', '.'], "_")
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let work = tmp.join("work");
    let shim = tmp.join("shim");
    for d in [&work, &shim, &tmp.join("server")] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    write_executable(&shim.join("cargo"), CARGO_SHIM)?;
    // curl fails on an HTTP error (printing the error body), quietly otherwise.
    std::fs::write(shim.join(".curlrc"), CURLRC).map_err(|e| format!("curlrc: {e}"))?;
    let path = format!(
        "{}:{}:{}",
        shim.display(),
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(script)
        .env("PATH", path)
        .env("DOCS_BIN_DIR", bin_dir)
        .env("DOCS_ROOT", repo_root())
        .env("DOCS_TMP", &work)
        .env("NO_COLOR", "1")
        .env("CURL_HOME", &shim)
        .env("TERM", "dumb")
        .env_remove("FRANKING_TOKEN")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let _server = if runnable.iter().any(|b| b.ann.server) {
        let s = DocServer::start(bin_dir, &tmp.join("server"))?;
        cmd.env("FRANKING_SERVER", &s.url)
            .env("ADMIN_TOKEN", &s.tokens[0])
            .env("MODERATOR_TOKEN", &s.tokens[1])
            .env("RELAY_TOKEN", &s.tokens[2])
            .env("SERVICE_TOKEN", &s.tokens[3])
            // `report-server audit-verify` and the like run on the server's database and key.
            .env("FRANKING_DATA_DIR", tmp.join("server"));
        Some(s)
    } else {
        None
    };
    let (status, out) = run_with_timeout(cmd, FILE_TIMEOUT)?;
    let sections = split_sections(&out);
    let failed_at = sections.last().map_or(0, |(k, _)| *k);
    match status {
        Some(true) => {}
        Some(false) | None => {
            let b = runnable.get(failed_at).map_or(0, |b| b.line);
            let what = if status.is_none() {
                format!("timed out after {}s", FILE_TIMEOUT.as_secs())
            } else {
                "failed".into()
            };
            let output = sections.last().map_or("", |(_, o)| o.as_str());
            report
                .failures
                .push(format!("{name}:{b}: block {what}; output:\n{output}"));
            return Ok(());
        }
    }
    for (k, exp) in expected {
        let actual = sections
            .iter()
            .find(|(i, _)| i == k)
            .map_or("", |(_, o)| o.as_str());
        if !output_matches(&format!("...\n{}", exp.body), actual) {
            report.failures.push(format!(
                "{name}:{}: output differs from the block at line {}:\nexpected:\n{}actual:\n{actual}",
                exp.line,
                runnable.get(*k).map_or(0, |b| b.line),
                exp.body
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// Splits the combined output at the block markers: (block index, its output).
fn split_sections(out: &str) -> Vec<(usize, String)> {
    let mut sections: Vec<(usize, String)> = Vec::new();
    for line in out.lines() {
        if let Some(k) = line.strip_prefix(MARKER) {
            if let Ok(k) = k.trim().parse() {
                sections.push((k, String::new()));
            } else {
                // `end`: the script ran through.
                break;
            }
        } else if let Some((_, s)) = sections.last_mut() {
            s.push_str(line);
            s.push('\n');
        }
    }
    // Each marker starts on a fresh line: drop the blank line that put it there.
    for (_, s) in &mut sections {
        if s.ends_with("\n\n") {
            s.pop();
        }
    }
    sections
}

/// Runs `cmd`; `None` as status if it was killed at the timeout. Output is stdout then stderr
/// (the script sends both to stdout).
fn run_with_timeout(mut cmd: Command, limit: Duration) -> Result<(Option<bool>, String), String> {
    let mut child = cmd.spawn().map_err(|e| format!("bash: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(s) => break Some(s.success()),
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let mut out = reader.join().unwrap_or_default();
    out.push_str(&err_reader.join().unwrap_or_default());
    Ok((status, out))
}

fn write_executable(path: &Path, text: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_fences_and_annotations() {
        let md = "text\n```sh server\na\n```\n<!-- docs: root -->\n\n```sh\nb\n```\n\
                  ```text output\nx [..] y\n```\n```sh skip=needs the nightly toolchain\nc\n```\n";
        let b = parse(md).unwrap();
        assert_eq!(b.len(), 4);
        assert!(b[0].ann.server && b[0].line == 2 && b[0].body == "a\n");
        assert!(b[1].ann.root && !b[1].ann.server);
        assert!(b[2].output && b[2].lang == "text");
        assert_eq!(
            b[3].ann.skip.as_deref(),
            Some("needs the nightly toolchain")
        );
        assert!(parse("```sh sever\nx\n```\n").is_err());
        assert!(parse("```sh skip=\nx\n```\n").is_err());
        assert!(parse("```sh\nx\n").is_err());
    }

    #[test]
    fn output_redaction() {
        assert!(output_matches(
            "{\"id\": \"case_[..]\"}",
            "{\"id\": \"case_x1\"}  \n"
        ));
        assert!(!output_matches(
            "{\"id\": \"case_[..]\"}",
            "{\"id\": \"rep_x1\"}"
        ));
        assert!(output_matches("a\n...\nz", "a\nb\nc\nz"));
        assert!(output_matches("a\n...", "a"));
        assert!(!output_matches("a\nz", "a\nb\nz"));
        assert!(output_matches("[..]x[..]", "axb"));
        assert!(!output_matches("ab[..]ba", "aba"));
    }
}
