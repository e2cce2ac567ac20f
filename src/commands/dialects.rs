//! `dbt-incr dialects`: the warehouses, their strategies and capabilities.

use crate::dialect::{DIALECTS, Strategy};

pub fn run() {
    print!("{}", dialects_table());
}

/// The `dialects` table: one row per warehouse.
pub fn dialects_table() -> String {
    let mut rows = vec![[
        "dialect".to_string(),
        "strategies (default first)".to_string(),
        "qualify".to_string(),
        "minus 3 days".to_string(),
        "notes".to_string(),
    ]];
    for d in DIALECTS {
        let mut strategies: Vec<&str> = vec![d.default_strategy.name()];
        strategies.extend(
            Strategy::ALL.iter().filter(|s| **s != d.default_strategy && d.adapter_strategy(**s).is_some()).map(|s| s.name()),
        );
        rows.push([
            d.name.to_string(),
            strategies.join(", "),
            if d.qualify { "yes" } else { "no" }.to_string(),
            d.interval_example.replace("{ts}", "ts"),
            d.note.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..5).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out.push_str("\ninsert_overwrite is listed where the adapter has it but refused by dbt-incr: it drops rows a lookback batch does not re-read.\n");
    out
}
