//! Editing a spec's text in place: the starter spec `init` writes, and adding a model entry at the
//! end of `models:` with every comment, blank line and order kept (`new`).

/// The starter spec `init` writes; `{dialect}` is replaced by a `dialect:` line.
pub const STARTER: &str = "\
# dbt-incr spec: one incremental model per entry under `models:`.
# After editing, run `dbt-incr generate`; or add an entry with
#   dbt-incr new fct_events --from \"source('raw', 'events')\" --unique-key event_id
# Every key is described in docs/spec.md of dbt-incr.
version: 1
{dialect}
defaults:
  # How far before the target's newest load_time each incremental run re-reads the source, so
  # rows committed late or out of order are caught. Larger is safer and costs more.
  lookback: 3 days

models:
  # - name: fct_events                  # the model (and table) name
  #   from: source('raw', 'events')     # ref('model') | ref('package', 'model') | source('source', 'table')
  #   unique_key: event_id              # a column or a list: one row per key is kept
  #   load_time: _loaded_at             # when the loader wrote the row (not the event time!)
  #   event_time: event_at              # business time: backfill windows are measured on it
  #   path: marts                       # optional subfolder under the model path
";

/// Appends `entry` (lines starting at `- name:`, indented relative to the list item) to the
/// top-level `models:` list of `text`, at the end of the list, keeping everything else as is.
pub fn append_model(text: &str, entry: &[String]) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let top_level = |l: &str| !l.is_empty() && !l.starts_with([' ', '\t', '#']) && !l.starts_with("- ");
    let Some(models_at) = lines.iter().position(|l| l.starts_with("models:")) else {
        return Err("the spec has no top-level `models:` list to add to".to_string());
    };
    let after_key = lines[models_at]["models:".len()..].split(" #").next().unwrap_or("").trim();
    let flow_empty = after_key == "[]";
    if !after_key.is_empty() && !flow_empty {
        return Err("`models:` is written inline; dbt-incr new can only add to a block list (one `- name:` per entry)".to_string());
    }
    // The list runs until the next top-level key.
    let end = lines[models_at + 1..].iter().position(|l| top_level(l)).map_or(lines.len(), |p| models_at + 1 + p);
    // Indentation of existing items, else two spaces.
    let indent = lines[models_at + 1..end]
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map(|l| l[..l.len() - l.trim_start().len()].to_string())
        .unwrap_or_else(|| "  ".to_string());
    // Insert after the last line of the list that is not blank (comments trailing the list stay
    // above the new entry, blank lines before the next key stay below it).
    let last_content = lines[models_at + 1..end].iter().rposition(|l| !l.trim().is_empty() && !l.starts_with('#')).map(|p| models_at + 1 + p);
    let insert_at = last_content.map_or(models_at + 1, |p| p + 1);
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + entry.len() + 1);
    for (i, l) in lines.iter().enumerate() {
        if i == insert_at {
            if last_content.is_some() && lines[models_at + 1..insert_at].iter().any(|l| l.trim_start().starts_with("- ")) {
                out.push(String::new());
            }
            out.extend(entry.iter().map(|e| format!("{indent}{e}")));
        }
        if i == models_at && flow_empty {
            out.push(l.replacen("[]", "", 1).trim_end().to_string());
        } else {
            out.push((*l).to_string());
        }
    }
    if insert_at >= lines.len() {
        if lines[models_at + 1..].iter().any(|l| l.trim_start().starts_with("- ")) {
            out.push(String::new());
        }
        out.extend(entry.iter().map(|e| format!("{indent}{e}")));
    }
    let mut s = out.join("\n");
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Vec<String> {
        vec!["- name: b".to_string(), "  from: ref('x')".to_string()]
    }

    #[test]
    fn appends_at_the_end_of_the_list() {
        let text = "version: 1\nmodels:\n  # first\n  - name: a\n    from: ref('y')\n\n# trailing\ndialect: duckdb\n";
        assert_eq!(
            append_model(text, &entry()).unwrap(),
            "version: 1\nmodels:\n  # first\n  - name: a\n    from: ref('y')\n\n  - name: b\n    from: ref('x')\n\n# trailing\ndialect: duckdb\n"
        );
    }

    #[test]
    fn fills_an_empty_list() {
        assert_eq!(append_model("version: 1\nmodels: []\n", &entry()).unwrap(), "version: 1\nmodels:\n  - name: b\n    from: ref('x')\n");
        assert_eq!(append_model("models:\n  # - name: example\n", &entry()).unwrap(), "models:\n  # - name: example\n  - name: b\n    from: ref('x')\n");
    }

    #[test]
    fn keeps_unindented_lists() {
        assert_eq!(append_model("models:\n- name: a\n  from: ref('y')\n", &entry()).unwrap(), "models:\n- name: a\n  from: ref('y')\n\n- name: b\n  from: ref('x')\n");
    }
}
