//! Reading the project's files as dbt-incr sees them: a file's text, and every file under a folder
//! whose first lines carry the generated-file marker.

use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Error};
use crate::render::header::{self, HEADER_BYTES};

/// Every file under `dirs` (relative to `root`, searched recursively, symlinks not followed)
/// whose first lines carry the marker, relative to `root`, sorted; files for which `skip` is
/// true are left out without being opened (the caller has read them already).
pub fn marked_files(root: &Path, dirs: &[PathBuf], skip: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.to_vec();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            // Hidden entries include the temporary files of an interrupted write.
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            let relative = dir.join(&name);
            if kind.is_dir() {
                stack.push(relative);
            } else if kind.is_file() && !skip(&relative) && has_marker(&entry.path()) {
                found.push(relative);
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn has_marker(path: &Path) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else { return false };
    let mut head = Vec::with_capacity(HEADER_BYTES);
    if file.take(HEADER_BYTES as u64).read_to_end(&mut head).is_err() {
        return false;
    }
    header::has_marker(&String::from_utf8_lossy(&head))
}

/// A file's text (`None` when absent); invalid UTF-8 is read lossily, so it compares as different.
pub fn read_lossy(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if path.is_dir() => Err(Diagnostic::new(format!("{} is a folder where dbt-incr writes a file", path.display())).hint(e.to_string()).into()),
        Err(e) => Err(Error::Io { path: path.to_path_buf(), action: "read", source: e }),
    }
}
