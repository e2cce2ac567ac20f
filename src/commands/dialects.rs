//! `dbt-incr dialects`: the warehouses, their strategies and capabilities, and how the promise is
//! proven on each.

use crate::dialect::{DIALECTS, Microbatch, Strategy};

pub fn run() {
    print!("{}", dialects_table());
}

/// The `dialects` table: one row per warehouse.
pub fn dialects_table() -> String {
    let header = ["dialect", "strategies (default first)", "microbatch", "qualify", "proven by", "notes"];
    let mut rows = vec![header.map(str::to_string)];
    for d in DIALECTS {
        // Microbatch has its own column; insert_overwrite is listed only where it is offered.
        let mut strategies: Vec<&str> = vec![d.default_strategy.name()];
        for s in [Strategy::Merge, Strategy::DeleteInsert, Strategy::Append, Strategy::InsertOverwrite] {
            let offered = s != Strategy::InsertOverwrite || d.overwrite_partitions;
            if s != d.default_strategy && d.adapter_strategy(s).is_some() && offered {
                strategies.push(s.name());
            }
        }
        let microbatch = match (d.adapter_strategy(Strategy::Microbatch), d.microbatch) {
            (None, _) => "no",
            (Some(_), Microbatch::MergeOnKey) => "with a unique_key",
            (Some(_), Microbatch::ReplaceWindow) => "without a unique_key",
            (Some(_), Microbatch::Refused(_)) => "refused",
        };
        rows.push([
            d.name.to_string(),
            strategies.join(", "),
            microbatch.to_string(),
            if d.qualify { "yes" } else { "no" }.to_string(),
            d.proof.describe().to_string(),
            d.note.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..header.len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
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
    out.push_str(
        "
microbatch: where the adapter merges each batch on the unique key, a key stays one row; where it
replaces the batch's event window, a key whose event_time moves would be kept twice, so only
key-less models (immutable facts) use it there.
insert_overwrite, where offered (spark), rebuilds every partition a run touches from the input;
elsewhere it is refused: it replaces whole partitions with only the batch's rows.
proven by: real adapter end to end (tests/engines) > real adapter on an emulator > compiled SQL
executed on the engine (tests/differential) > reviewed against adapter source (docs/dialects/).
",
    );
    out
}
