//! What dbt's `manifest.json` says about the graph: the models downstream of a model.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;

use serde_json::Value;

use super::read_text;
use crate::error::{Diagnostic, Error};

/// The models and snapshots downstream of the model `name` (children, their children, …), in
/// breadth-first order, from the manifest at `manifest`. `Ok(None)` when the manifest is absent or
/// does not know the model.
pub fn downstream(manifest: &Path, name: &str) -> Result<Option<Vec<String>>, Error> {
    if !manifest.is_file() {
        return Ok(None);
    }
    let text = read_text(manifest)?;
    let json: Value = serde_json::from_str(&text).map_err(|e| Diagnostic::new(format!("cannot read {}: {e}", manifest.display())).hint("regenerate it with `dbt parse`"))?;
    let nodes = json.get("nodes").and_then(Value::as_object);
    let Some(nodes) = nodes else { return Ok(None) };
    let Some(root) = nodes.iter().find(|(_, n)| n.get("resource_type").and_then(Value::as_str) == Some("model") && n.get("name").and_then(Value::as_str) == Some(name)).map(|(id, _)| id.clone()) else {
        return Ok(None);
    };
    let child_map = json.get("child_map").and_then(Value::as_object);
    let children = |id: &str| -> Vec<String> { child_map.and_then(|m| m.get(id)).and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default() };
    let mut seen = BTreeSet::from([root.clone()]);
    let mut queue = VecDeque::from([root]);
    let mut out = Vec::new();
    while let Some(id) = queue.pop_front() {
        for child in children(&id) {
            if !seen.insert(child.clone()) {
                continue;
            }
            let node = nodes.get(&child);
            let kind = node.and_then(|n| n.get("resource_type")).and_then(Value::as_str);
            if matches!(kind, Some("model" | "snapshot")) {
                out.push(node.and_then(|n| n.get("name")).and_then(Value::as_str).unwrap_or(&child).to_string());
                queue.push_back(child);
            }
        }
    }
    Ok(Some(out))
}
