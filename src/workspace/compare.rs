//! What differs between a plan and the disk: each planned file missing, changed, edited by hand
//! or in the way, and each file dbt-incr generated earlier that no spec produces any more.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use similar::TextDiff;

use super::scan::{marked_files, read_lossy};
use crate::error::Error;
use crate::plan::Plan;
use crate::render::header::{self, Ownership};
use crate::render::macros;

/// How a file on disk differs from the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Planned, not on disk.
    Missing,
    /// Planned, on disk with other content (written by dbt-incr).
    Changed,
    /// Planned, on disk with other content, and edited by hand since dbt-incr wrote it.
    HandEdited,
    /// Planned, but a file dbt-incr did not write is in the way.
    Foreign,
    /// Written by dbt-incr, but no spec produces it any more.
    Orphaned,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Missing => "missing",
            Status::Changed => "changed",
            Status::HandEdited => "hand-edited",
            Status::Foreign => "foreign",
            Status::Orphaned => "orphaned",
        }
    }

    /// What the status means, and what `generate` does about it.
    pub fn explain(self) -> &'static str {
        match self {
            Status::Missing => "not generated yet; `dbt-incr generate` writes it",
            Status::Changed => "out of date; `dbt-incr generate` rewrites it",
            Status::HandEdited => "edited by hand since it was generated; `dbt-incr generate` refuses to overwrite it without --force",
            Status::Foreign => "not written by dbt-incr; `dbt-incr generate` refuses to overwrite it (move it away or rename the model)",
            Status::Orphaned => "generated earlier, but no spec produces it any more; `dbt-incr generate --prune` removes it",
        }
    }
}

/// One file that differs.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Relative to the project root.
    pub path: PathBuf,
    pub status: Status,
    /// For an orphan: whether it was also edited by hand.
    pub hand_edited: bool,
    /// The disk's text (`None` when missing).
    pub old: Option<String>,
    /// The planned text (`None` for an orphan).
    pub new: Option<String>,
}

impl Finding {
    /// `git diff`-style unified diff, `/dev/null` for the absent side.
    pub fn diff(&self) -> String {
        let shown = self.path.to_string_lossy().replace('\\', "/");
        let (a, b) = (format!("a/{shown}"), format!("b/{shown}"));
        let old = self.old.as_deref().unwrap_or("");
        let new = self.new.as_deref().unwrap_or("");
        let a = if self.old.is_some() { a.as_str() } else { "/dev/null" };
        let b = if self.new.is_some() { b.as_str() } else { "/dev/null" };
        let diff = TextDiff::from_lines(old, new);
        let mut out = diff.unified_diff().context_radius(3).header(a, b).to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

/// Everything that differs between a plan and the disk.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Sorted by path.
    pub findings: Vec<Finding>,
    /// Planned files identical on disk.
    pub unchanged: Vec<PathBuf>,
}

impl Comparison {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status).count()
    }

    /// "2 changed, 1 orphaned".
    pub fn tally(&self) -> String {
        let parts: Vec<String> = [Status::Missing, Status::Changed, Status::HandEdited, Status::Foreign, Status::Orphaned]
            .into_iter()
            .filter(|s| self.count(*s) > 0)
            .map(|s| format!("{} {}", self.count(s), s.name()))
            .collect();
        parts.join(", ")
    }
}

/// Reads every planned file, and every file dbt-incr generated earlier under the model folder
/// and the macro package folder, and says what differs.
///
/// A generated file no planned file matches is an orphan unless its header names a spec file
/// that still exists and was not read this time (it belongs to another `--spec` run).
pub fn compare(plan: &Plan) -> Result<Comparison, Error> {
    let root = &plan.project.root;
    let mut comparison = Comparison::default();
    for file in &plan.files {
        let path = root.join(&file.path);
        let old = match read_lossy(&path)? {
            None => {
                comparison.findings.push(Finding { path: file.path.clone(), status: Status::Missing, hand_edited: false, old: None, new: Some(file.contents.clone()) });
                continue;
            }
            Some(old) => old,
        };
        if header::same_text(&old, &file.contents) {
            comparison.unchanged.push(file.path.clone());
            continue;
        }
        let status = match Ownership::of(&old) {
            Ownership::Foreign => Status::Foreign,
            Ownership::HandEdited => Status::HandEdited,
            Ownership::Pristine | Ownership::Unhashed => Status::Changed,
        };
        comparison.findings.push(Finding { path: file.path.clone(), status, hand_edited: status == Status::HandEdited, old: Some(old), new: Some(file.contents.clone()) });
    }

    let planned: BTreeSet<&Path> = plan.files.iter().map(|f| f.path.as_path()).collect();
    let read_now: BTreeSet<String> = plan.specs.iter().map(|p| p.to_string_lossy().replace('\\', "/")).collect();
    let dirs = [PathBuf::from(&plan.project.model_path), Path::new(&plan.project.macro_path).join(macros::PACKAGE_DIR)];
    // Planned files were read above: the walk does not open them again.
    for path in marked_files(root, &dirs, |p| planned.contains(p)) {
        if planned.contains(path.as_path()) {
            continue;
        }
        let Some(old) = read_lossy(&root.join(&path))? else { continue };
        if let Some((spec, _)) = header::origin(&old)
            && !read_now.contains(&spec)
            && (root.join(&spec).is_file() || Path::new(&spec).is_file())
        {
            continue;
        }
        let hand_edited = Ownership::of(&old) == Ownership::HandEdited;
        comparison.findings.push(Finding { path, status: Status::Orphaned, hand_edited, old: Some(old), new: None });
    }
    comparison.findings.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(comparison)
}
