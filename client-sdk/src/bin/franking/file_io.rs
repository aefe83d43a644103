//! The CLI's only file I/O: opening inputs (a path, or "-" for stdin) and writing outputs.
//!
//! Every output file (keys, JSON, blobs, opened attachments) is written under a temporary name
//! in its target directory, with mode 0600 where supported, flushed and synced, and renamed into
//! place only when the whole command has succeeded ([`Outputs::finish`]); on any error the
//! temporary files are removed, so a failed command never leaves an empty or partial file under
//! a final name.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{CliError, CliResult};

/// The path that means stdin.
const STDIN: &str = "-";

/// Opens the file `path` for buffered reading.
pub(crate) fn open_file(path: &Path) -> CliResult<BufReader<File>> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| CliError::file(path, e))
}

/// Reads `path` ("-" for stdin) as UTF-8 text.
pub(crate) fn read_text(path: &Path) -> CliResult<String> {
    let mut text = String::new();
    if path.as_os_str() == STDIN {
        std::io::stdin().lock().read_to_string(&mut text)
    } else {
        open_file(path)?.read_to_string(&mut text)
    }
    .map_err(|e| CliError::file(path, e))?;
    Ok(text)
}

/// Reads a command's `--in` input: the file, or stdin if absent or "-".
pub(crate) fn read_input(input: Option<&Path>) -> CliResult<String> {
    read_text(input.unwrap_or(Path::new(STDIN)))
}

/// Parses a command's JSON input as a `T`, given either bare or as the `member` of an earlier
/// command's output (`{"envelope": ...}` from `seal`, `{"opened": ...}` from `open`).
pub(crate) fn parse_output_of<T: DeserializeOwned>(text: &str, member: &str) -> CliResult<T> {
    let mut v: Value = serde_json::from_str(text)?;
    let inner = match v.get_mut(member) {
        Some(m) => m.take(),
        None => v,
    };
    Ok(serde_json::from_value(inner)?)
}

/// Creates the output directory `dir` (and its parents) if it does not exist.
pub(crate) fn create_dir(dir: &Path) -> CliResult<()> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::file(dir, e))
}

/// Pretty JSON followed by a newline: the form of every JSON output.
pub(crate) fn json_bytes(value: &impl Serialize) -> CliResult<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes `bytes` to the file `out` (atomically, mode 0600) or, if absent, to stdout.
pub(crate) fn write_output(out: Option<&Path>, bytes: &[u8]) -> CliResult<()> {
    Outputs::default().finish(out, bytes)
}

/// A complete file under a temporary name, not yet visible under its final name; dropping it
/// without [`Staged::persist`] removes it.
pub(crate) struct Staged {
    tmp: PathBuf,
    persisted: bool,
}

impl Staged {
    /// Renames the file to `dest`.
    fn persist(mut self, dest: &Path) -> CliResult<()> {
        std::fs::rename(&self.tmp, dest).map_err(|e| CliError::file(dest, e))?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a new temporary file in `dir` (mode 0600, name derived from `name`) through `f`, then
/// flushes and syncs it. Errors of `f` should name the final path, which is what the user knows.
pub(crate) fn stage_in(
    dir: &Path,
    name: &str,
    f: impl FnOnce(&mut BufWriter<File>) -> CliResult<()>,
) -> CliResult<Staged> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| client_sdk::Error::Random(e.to_string()))?;
    let tmp = dir.join(format!(".{name}.partial-{}", hex::encode(nonce)));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&tmp).map_err(|e| CliError::file(&tmp, e))?;
    // From here on an error drops `staged`, which removes the temporary file.
    let staged = Staged {
        tmp,
        persisted: false,
    };
    let mut w = BufWriter::new(file);
    f(&mut w)?;
    let file = w
        .into_inner()
        .map_err(|e| CliError::file(&staged.tmp, e.into_error()))?;
    file.sync_all()
        .map_err(|e| CliError::file(&staged.tmp, e))?;
    Ok(staged)
}

/// Everything a command writes, kept under temporary names until [`Outputs::finish`].
#[derive(Default)]
pub(crate) struct Outputs {
    files: Vec<(Staged, PathBuf)>,
}

impl Outputs {
    /// Writes the future file `dest` through `f` (under a temporary name in its directory).
    pub(crate) fn stage(
        &mut self,
        dest: &Path,
        f: impl FnOnce(&mut BufWriter<File>) -> CliResult<()>,
    ) -> CliResult<()> {
        let name = dest
            .file_name()
            .ok_or_else(|| CliError::Usage(format!("{}: not a file path", dest.display())))?;
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let staged = stage_in(dir, &name.to_string_lossy(), f)?;
        self.add(staged, dest.to_path_buf());
        Ok(())
    }

    /// Adds a file staged with [`stage_in`], to appear as `dest`.
    pub(crate) fn add(&mut self, staged: Staged, dest: PathBuf) {
        self.files.push((staged, dest));
    }

    /// The command succeeded: stages `bytes` as the file `out` (if given), renames every staged
    /// file into place, and only then writes `bytes` to stdout if there is no `out`.
    pub(crate) fn finish(mut self, out: Option<&Path>, bytes: &[u8]) -> CliResult<()> {
        if let Some(path) = out {
            self.stage(path, |w| {
                w.write_all(bytes).map_err(|e| CliError::file(path, e))
            })?;
        }
        for (staged, dest) in self.files {
            staged.persist(&dest)?;
        }
        if out.is_none() {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .map_err(|e| CliError::file(Path::new("<stdout>"), e))?;
        }
        Ok(())
    }
}
