//! Checks of one model entry, key by key, collecting every problem before giving up. The choice
//! of strategy and the refusals that keep the promise are in [`super::refusals`].

use std::path::Path;

use serde_saphyr::Spanned;

use super::model::{DEFAULT_LOOKBACK, Deleted, DeletedTest, Lookback, MAX_LOOKBACK_AMOUNT, Model, PartitionBy, Relation, TimeUnit};
use super::names::{escape, identifier_hint, identifier_problem, is_iso_date, is_placeholder, parse_relation};
use super::parse::{DialectChoice, OneOrMany, RawModel, RawPartitionBy};
use crate::dialect::{Dialect, Strategy};
use crate::error::Diagnostic;

pub(super) struct Validator<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    pub(super) diags: Vec<Diagnostic>,
    /// The chosen dialect's own reserved words (names are checked against them too) and its name.
    pub(super) reserved: (&'static [&'static str], &'static str),
}

impl Validator<'_> {
    pub(super) fn diag<T>(&self, at: &Spanned<T>, key: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(message)
            .at(self.file, self.text, at.referenced.line() as usize, at.referenced.column() as usize)
            .key(key)
    }

    pub(super) fn err<T>(&mut self, at: &Spanned<T>, key: &str, message: impl Into<String>, hint: Option<&str>) {
        let mut d = self.diag(at, key, message);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        self.diags.push(d);
    }

    /// An error about a whole model entry (a missing key): points at the entry's first key.
    pub(super) fn err_line(&mut self, at: (usize, usize), key: &str, message: impl Into<String>, hint: Option<&str>) {
        let mut d = Diagnostic::new(message).at(self.file, self.text, at.0, at.1).key(key);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        self.diags.push(d);
    }

    pub(super) fn dialect(&mut self, spec: Option<&Spanned<String>>, choice: &DialectChoice) -> Option<&'static Dialect> {
        let known = || Dialect::names().collect::<Vec<_>>().join(", ");
        if let Some(s) = spec.filter(|_| !(choice.cli_overrides_spec && choice.cli.is_some())) {
            let Some(d) = Dialect::find(&s.value) else {
                let names: Vec<&str> = Dialect::names().collect();
                let d = self.diag(s, "dialect", format!("unknown dialect `{}`", escape(&s.value))).one_of(&s.value, &names);
                self.diags.push(d);
                return None;
            };
            if let Some(cli) = &choice.cli
                && cli != d.name
            {
                self.err(s, "dialect", format!("the spec says dialect `{}` but --dialect says `{cli}`", d.name), Some("drop one of them, or make them agree"));
                return None;
            }
            return Some(d);
        }
        if let Some(cli) = &choice.cli {
            // Validated by the CLI already; an unknown name here is a programming error upstream.
            return match Dialect::find(cli) {
                Some(d) => Some(d),
                None => {
                    let names: Vec<&str> = Dialect::names().collect();
                    self.diags.push(Diagnostic::new(format!("unknown dialect `{}` (from --dialect)", escape(cli))).one_of(cli, &names));
                    None
                }
            };
        }
        if let Some((adapter, profile)) = &choice.profile {
            return match Dialect::find(adapter) {
                Some(d) => Some(d),
                None => {
                    self.diags.push(
                        Diagnostic::new(format!("the profile's target uses adapter `{adapter}`, which dbt-incr does not know"))
                            .in_file(profile)
                            .hint(format!("set `dialect:` in the spec or pass --dialect; dbt-incr knows: {}", known())),
                    );
                    None
                }
            };
        }
        self.diags.push(
            Diagnostic::new("no dialect: the spec has no `dialect:`, no --dialect was given, and no profile was found")
                .in_file(self.file)
                .key("dialect")
                .hint(format!("add `dialect: duckdb` (or another of: {}) to the spec", known())),
        );
        None
    }

    pub(super) fn model(&mut self, raw: &RawModel, defaults: &RawModel, key: &str, at: (usize, usize), dialect: &'static Dialect) -> Option<Model> {
        let before = self.diags.len();
        // A model's own value wins over its default.
        macro_rules! pick {
            ($field:ident) => {
                raw.$field.as_ref().or(defaults.$field.as_ref())
            };
        }
        let k = |field: &str| format!("{key}.{field}");
        let microbatch = pick!(incremental_strategy).is_some_and(|s| s.value == Strategy::Microbatch.name());

        let name = match &raw.name {
            Some(n) => {
                if self.identifier(n, &k("name"), "model name")
                    && let Some(max) = dialect.max_model_name
                    && n.value.len() > max
                {
                    self.err(n, &k("name"), format!("model name `{}` is {} characters; {} allows {max} (its temporary tables add a suffix to the name)", escape(&n.value), n.value.len(), dialect.name), Some("choose a shorter name"));
                }
                n.value.clone()
            }
            None => {
                self.err_line(at, &k("name"), "model has no `name`", Some("every model needs `name: <model_name>`"));
                String::new()
            }
        };
        let from = match &raw.from {
            Some(f) => self.relation(f, &k("from")),
            None => {
                self.err_line(at, &k("from"), format!("model `{}` has no `from`", escape(&name)), Some("set `from: source('raw', 'events')` or `from: ref('stg_events')`"));
                None
            }
        };
        let unique_key = match pick!(unique_key) {
            Some(u) => self.identifiers(u, &k("unique_key"), "unique_key column"),
            None => Vec::new(),
        };
        let load_time = match pick!(load_time) {
            Some(l) => {
                self.identifier(l, &k("load_time"), "column name");
                l.value.clone()
            }
            None => {
                self.err_line(
                    at,
                    &k("load_time"),
                    format!("model `{}` has no `load_time`", escape(&name)),
                    Some("name the column your loader stamps when it writes a row (e.g. `_loaded_at`, `_fivetran_synced`); the incremental window is measured on it"),
                );
                String::new()
            }
        };
        let event_time = pick!(event_time).map(|e| {
            self.identifier(e, &k("event_time"), "column name");
            e.value.clone()
        });
        let lookback = match pick!(lookback) {
            Some(l) => self.lookback(l, &k("lookback")).unwrap_or(DEFAULT_LOOKBACK),
            None => DEFAULT_LOOKBACK,
        };
        let columns = pick!(columns).map(|c| {
            if c.value.is_empty() {
                self.err(c, &k("columns"), "`columns` is empty", Some("list the columns to keep, or drop the key to keep them all"));
            }
            let mut out: Vec<String> = Vec::new();
            for (i, col) in c.value.iter().enumerate() {
                let ck = format!("{}[{i}]", k("columns"));
                if self.identifier(col, &ck, "column name") {
                    if let Some(first) = out.iter().find(|o| o.eq_ignore_ascii_case(&col.value)) {
                        let message = if *first == col.value {
                            format!("column `{}` is listed twice", col.value)
                        } else {
                            format!("column `{}` is listed twice (as `{first}` too; unquoted SQL names ignore case)", col.value)
                        };
                        self.err(col, &ck, message, Some("remove the repeated entry"));
                    }
                    out.push(col.value.clone());
                }
            }
            out
        });
        let tie_breaker = pick!(tie_breaker).map(|t| self.identifiers(t, &k("tie_breaker"), "tie_breaker column"));
        let deleted = pick!(deleted).and_then(|d| self.deleted(d, &k("deleted")));
        let path = pick!(path).map(|p| self.path(p, &k("path"))).unwrap_or_default();
        let on_schema_change = match pick!(on_schema_change) {
            Some(o) => {
                const VALID: [&str; 4] = ["append_new_columns", "sync_all_columns", "fail", "ignore"];
                if !VALID.contains(&o.value.as_str()) {
                    let d = self.diag(o, &k("on_schema_change"), format!("unknown on_schema_change `{}`", escape(&o.value))).one_of(&o.value, &VALID);
                    self.diags.push(d);
                } else if o.value == "sync_all_columns" && dialect.name == "spark" {
                    // dbt-spark raises on every run once a source column is dropped (it cannot
                    // drop a column): docs/dialects/spark.md.
                    self.err(o, &k("on_schema_change"), "dbt-spark cannot drop columns, so sync_all_columns fails every run once a source column is removed", Some("use append_new_columns (the default) or fail"));
                } else if o.value == "sync_all_columns" && dialect.name == "databricks" {
                    // dbt-databricks drops a removed column with ALTER TABLE … DROP COLUMNS, which
                    // Delta refuses without column mapping: docs/dialects/databricks.md, defect 9.
                    self.err(o, &k("on_schema_change"), "dbt-databricks drops a removed column with `ALTER TABLE … DROP COLUMNS`, which Delta refuses unless the table has column mapping (`delta.columnMapping.mode = 'name'`), a table property dbt-incr cannot see: every run would fail once a source column is removed", Some("use append_new_columns (the default) or fail"));
                }
                o.value.clone()
            }
            None => "append_new_columns".to_string(),
        };
        let tags = pick!(tags)
            .map(|t| {
                let tags = t.value.clone().into_vec();
                for tag in &tags {
                    if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                        self.err(t, &k("tags"), format!("tag `{}` may hold only letters, digits, `_` and `-`", escape(tag)), Some("e.g. `tags: [daily, finance-core]`"));
                    }
                }
                tags
            })
            .unwrap_or_default();
        let partition_by = pick!(partition_by).and_then(|p| self.partition_by(p, &k("partition_by"), dialect));
        let cluster_by = pick!(cluster_by)
            .map(|c| {
                let names = self.identifiers(c, &k("cluster_by"), "column name");
                match dialect.cluster_config {
                    None => self.err(c, &k("cluster_by"), format!("`cluster_by` is not supported on {}", dialect.name), Some("drop it; this adapter has no clustering config dbt-incr can set")),
                    Some((_, max)) if names.len() > max => {
                        self.err(c, &k("cluster_by"), format!("{} clusters by at most {max} columns, and `cluster_by` lists {}", dialect.name, names.len()), Some("keep the columns most filtered on"))
                    }
                    Some(_) => {}
                }
                names
            })
            .unwrap_or_default();
        let order_by = pick!(order_by)
            .map(|o| {
                if !dialect.order_by {
                    self.err(o, &k("order_by"), format!("`order_by` is not supported on {}", dialect.name), Some("drop it: only ClickHouse tables take a sorting key"));
                }
                self.identifiers(o, &k("order_by"), "column name")
            })
            .unwrap_or_default();
        let table_format = self.table_format(pick!(file_format), pick!(table_type), &k, dialect);
        let begin = pick!(begin).map(|b| {
            if !is_iso_date(&b.value) {
                self.err(b, &k("begin"), format!("`begin` must be a date like 2024-01-01, got `{}`", escape(&b.value)), Some("write a real calendar date as YYYY-MM-DD: the first event date dbt builds from"));
            } else if raw.begin.is_some() && !microbatch {
                self.err(b, &k("begin"), "`begin` applies only to microbatch models", Some("drop it, or set `incremental_strategy: microbatch`"));
            }
            b.value.clone()
        });
        let batch_size = pick!(batch_size).map(|b| {
            const VALID: [&str; 4] = ["hour", "day", "month", "year"];
            if !VALID.contains(&b.value.as_str()) {
                let d = self.diag(b, &k("batch_size"), format!("unknown batch_size `{}`", escape(&b.value))).one_of(&b.value, &VALID);
                self.diags.push(d);
            } else if raw.batch_size.is_some() && !microbatch {
                self.err(b, &k("batch_size"), "`batch_size` applies only to microbatch models", Some("drop it, or set `incremental_strategy: microbatch`"));
            }
            b.value.clone()
        });

        // Columns the model relies on must survive a `columns` subset.
        if let Some(cols) = &columns {
            let spanned = pick!(columns).expect("columns present");
            let required = unique_key.iter().map(|c| (c, "unique_key")).chain([(&load_time, "load_time")]).chain(event_time.iter().map(|c| (c, "event_time"))).chain(tie_breaker.iter().flatten().map(|c| (c, "tie_breaker"))).chain(deleted.iter().map(|d| (&d.column, "deleted column"))).chain(partition_by.iter().map(|p| (&p.field, "partition_by column")));
            for (col, role) in required {
                if !col.is_empty() && !cols.contains(col) {
                    self.err(spanned, &k("columns"), format!("`columns` leaves out `{}`, the model's {role}", escape(col)), Some(&format!("add `{}` to `columns`", escape(col))));
                }
            }
        }

        let strategy = self.strategy(pick!(incremental_strategy), &k("incremental_strategy"), at, dialect, &name, &unique_key, lookback, event_time.as_deref(), begin.as_deref(), partition_by.as_ref().map(|p| p.field.as_str()), columns.is_some(), table_format.as_deref());

        if let (Some(d), Some(s)) = (&deleted, strategy) {
            let spanned = pick!(deleted).expect("deleted present");
            if unique_key.is_empty() {
                self.err(spanned, &k("deleted"), format!("`deleted: {}` needs a unique_key: a delete removes the key's row", d.describe()), Some("set `unique_key`"));
            } else if !matches!(s, Strategy::Merge | Strategy::DeleteInsert | Strategy::Microbatch | Strategy::InsertOverwrite) {
                self.err(spanned, &k("deleted"), format!("{s} cannot remove rows, so deletes cannot be applied"), Some("use merge or delete+insert"));
            }
        }
        let at_pos = at;
        // Iceberg tables reserve names for their metadata columns: a column so named fails the
        // first build (ValidationException: names reserved for Iceberg metadata columns).
        let format_default = |f: &crate::dialect::TableFormat| if matches!(strategy, Some(Strategy::Merge | Strategy::DeleteInsert)) { f.default_merge } else { f.default_other };
        if dialect.table_format.as_ref().and_then(|f| table_format.as_deref().or(format_default(f))) == Some("iceberg") {
            const ICEBERG_METADATA: [&str; 10] = ["_deleted", "_file", "_pos", "_spec_id", "_partition", "_change_type", "_change_ordinal", "_commit_snapshot_id", "_row_id", "_last_updated_sequence_number"];
            let named = unique_key.iter().map(|c| (c, "unique_key")).chain([(&load_time, "load_time")]).chain(event_time.iter().map(|c| (c, "event_time"))).chain(columns.iter().flatten().map(|c| (c, "columns"))).chain(deleted.iter().map(|d| (&d.column, "deleted")));
            for (column, role) in named {
                if ICEBERG_METADATA.iter().any(|m| m.eq_ignore_ascii_case(column)) {
                    let at = match role {
                        "unique_key" => pick!(unique_key).map(|s| (s.referenced.line() as usize, s.referenced.column() as usize)),
                        "load_time" => pick!(load_time).map(|s| (s.referenced.line() as usize, s.referenced.column() as usize)),
                        "event_time" => pick!(event_time).map(|s| (s.referenced.line() as usize, s.referenced.column() as usize)),
                        "deleted" => pick!(deleted).map(|s| (s.referenced.line() as usize, s.referenced.column() as usize)),
                        _ => pick!(columns).map(|s| (s.referenced.line() as usize, s.referenced.column() as usize)),
                    };
                    self.err_line(at.unwrap_or(at_pos), &k(role), format!("`{column}` is the name of an Iceberg metadata column, and this model's table is Iceberg: its first build would fail"), Some("rename the column in a staging model"));
                }
            }
        }
        if strategy == Some(Strategy::Microbatch)
            && let (Some(p), Some(g)) = (&partition_by, partition_by.as_ref().and_then(|p| p.granularity.as_deref()))
            && g != batch_size.as_deref().unwrap_or("day")
        {
            let spanned = pick!(partition_by).expect("partition_by present");
            self.err(spanned, &k("partition_by"), format!("partitions of `{}` by {g} do not match the batch_size {}: dbt-bigquery requires a microbatch model's partition granularity to equal its batch_size", p.field, batch_size.as_deref().unwrap_or("day")), Some("drop `granularity` (it follows batch_size), or change batch_size"));
        }
        if self.diags.len() > before {
            return None;
        }
        Some(Model {
            name,
            from: from?,
            unique_key,
            load_time,
            event_time,
            lookback,
            strategy: strategy?,
            columns,
            tie_breaker,
            deleted,
            path,
            on_schema_change,
            tags,
            partition_by,
            cluster_by,
            order_by,
            table_format,
            begin,
            batch_size,
            dialect,
            keyword_case: Default::default(),
            line: at.0,
            column: at.1,
        })
    }
}

impl Validator<'_> {
    /// Checks a plain SQL identifier; returns whether it is valid.
    pub(super) fn identifier(&mut self, s: &Spanned<String>, key: &str, what: &str) -> bool {
        match self.name_problem(&s.value) {
            None => true,
            Some(problem) => {
                self.err(s, key, format!("invalid {what} `{}`: {problem}", escape(&s.value)), Some(identifier_hint(&problem, what)));
                false
            }
        }
    }

    /// Why `name` cannot be a bare name in this spec's SQL: not a plain identifier, or reserved
    /// on most warehouses or on this spec's dialect.
    fn name_problem(&self, name: &str) -> Option<String> {
        if let Some(problem) = identifier_problem(name) {
            return Some(problem.to_string());
        }
        if is_placeholder(name) {
            return Some("it is a placeholder left to fill in".to_string());
        }
        let (reserved, dialect) = self.reserved;
        reserved.iter().any(|w| w.eq_ignore_ascii_case(name)).then(|| format!("it is a reserved word on {dialect}"))
    }

    pub(super) fn identifiers(&mut self, s: &Spanned<OneOrMany>, key: &str, what: &str) -> Vec<String> {
        let values = s.value.clone().into_vec();
        if values.is_empty() {
            self.err(s, key, format!("`{}` is an empty list", key.rsplit('.').next().unwrap_or(key)), Some("list at least one column, or remove the key"));
        }
        let mut out: Vec<String> = Vec::new();
        for v in values {
            if let Some(problem) = self.name_problem(&v) {
                self.err(s, key, format!("invalid {what} `{}`: {problem}", escape(&v)), Some(identifier_hint(&problem, what)));
            } else if let Some(first) = out.iter().find(|o| o.eq_ignore_ascii_case(&v)) {
                let message = if *first == v { format!("`{v}` is listed twice") } else { format!("`{v}` is listed twice (as `{first}` too; unquoted SQL names ignore case)") };
                self.err(s, key, message, Some("remove the repeated entry"));
            } else {
                out.push(v);
            }
        }
        out
    }

    pub(super) fn lookback(&mut self, s: &Spanned<String>, key: &str) -> Option<Lookback> {
        let hint = "write `<n> minutes`, `<n> hours` or `<n> days`, e.g. `3 days`";
        const UNITS: [&str; 6] = ["minute", "minutes", "hour", "hours", "day", "days"];
        let mut parts = s.value.split_whitespace();
        let (n, unit) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(unit), None) => (n, unit),
            (Some(one), None, None) => {
                // `3days` or `3`: say what is missing.
                let digits = one.find(|c: char| !c.is_ascii_digit()).unwrap_or(one.len());
                let (n, unit) = one.split_at(digits);
                let d = self.diag(s, key, format!("invalid lookback `{}`: it needs an amount and a unit", escape(&s.value)));
                let d = if n.is_empty() {
                    d.hint(hint)
                } else if unit.is_empty() {
                    d.hint(format!("add a unit: `{n} days`, `{n} hours` or `{n} minutes`"))
                } else {
                    match crate::error::closest(unit, UNITS) {
                        Some(best) => d.hint(format!("did you mean `{n} {best}`?")),
                        None => d.hint(hint),
                    }
                };
                self.diags.push(d);
                return None;
            }
            _ => {
                self.err(s, key, format!("invalid lookback `{}`", escape(&s.value)), Some(hint));
                return None;
            }
        };
        let unit = match unit.to_ascii_lowercase().as_str() {
            "minute" | "minutes" => TimeUnit::Minute,
            "hour" | "hours" => TimeUnit::Hour,
            "day" | "days" => TimeUnit::Day,
            "week" | "weeks" => {
                let days = n.parse::<u32>().map(|n| n.saturating_mul(7)).unwrap_or(7);
                self.err(s, key, format!("invalid lookback unit `{}`", escape(unit)), Some(&format!("write weeks as days: `{days} days` (units: minutes, hours, days)")));
                return None;
            }
            _ => {
                let d = self.diag(s, key, format!("invalid lookback unit `{}`", escape(unit))).one_of(&unit.to_ascii_lowercase(), &["minutes", "hours", "days"]);
                self.diags.push(d);
                return None;
            }
        };
        match n.parse::<u32>() {
            Ok(amount) if amount <= MAX_LOOKBACK_AMOUNT => Some(Lookback { amount, unit }),
            _ => {
                self.err(s, key, format!("invalid lookback amount `{}`", escape(n)), Some(&format!("use a whole number from 0 to {MAX_LOOKBACK_AMOUNT}")));
                None
            }
        }
    }

    pub(super) fn relation(&mut self, s: &Spanned<String>, key: &str) -> Option<Relation> {
        match parse_relation(&s.value) {
            Ok(r) if r.names().iter().any(|n| is_placeholder(n)) => {
                self.err(s, key, format!("invalid `from` `{}`: it holds a placeholder left to fill in", escape(&s.value)), Some("name the real source or model (dbt-incr audit writes `TODO` where it could not tell)"));
                None
            }
            Ok(r) => Some(r),
            Err(problem) => {
                self.err(s, key, format!("invalid `from` `{}`: {problem}", escape(&s.value)), Some("write `ref('model')`, `ref('package', 'model')` or `source('source', 'table')`"));
                None
            }
        }
    }

    pub(super) fn path(&mut self, s: &Spanned<String>, key: &str) -> Vec<String> {
        let hint = "a relative folder such as `marts` or `marts/finance`: letters, digits, `_` and `-` in each part";
        let value = s.value.trim_end_matches('/');
        let parts: Vec<&str> = value.split('/').collect();
        let bad = value.is_empty()
            || parts.iter().any(|p| p.is_empty() || *p == "." || *p == ".." || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        if bad {
            self.err(s, key, format!("invalid path `{}`: it must stay inside the model folder", escape(&s.value)), Some(hint));
            return Vec::new();
        }
        parts.into_iter().map(str::to_string).collect()
    }

    /// `partition_by: column` (a TIMESTAMP, by day) or dbt-bigquery's mapping.
    pub(super) fn partition_by(&mut self, p: &Spanned<RawPartitionBy>, key: &str, dialect: &'static Dialect) -> Option<PartitionBy> {
        if !dialect.partition_by {
            self.err(p, key, format!("`partition_by` is not supported on {}", dialect.name), Some("drop it; this adapter has no partition config dbt-incr can set"));
            return None;
        }
        let (field, data_type, granularity) = match &p.value {
            RawPartitionBy::Field(f) => (f.clone(), None, None),
            RawPartitionBy::Config(_) if dialect.overwrite_partitions => {
                self.err(p, key, format!("`partition_by` on {} is the name of the partition column", dialect.name), Some("write `partition_by: event_date`; the data_type/granularity mapping is BigQuery's"));
                return None;
            }
            RawPartitionBy::Config(c) => (c.field.clone(), c.data_type.clone(), c.granularity.clone()),
        };
        let mut ok = true;
        if let Some(problem) = self.name_problem(&field) {
            self.err(p, &format!("{key}.field"), format!("invalid partition column `{}`: {problem}", escape(&field)), Some("name the date or time column to partition by"));
            ok = false;
        }
        const TYPES: [&str; 3] = ["timestamp", "datetime", "date"];
        let data_type = data_type.unwrap_or_else(|| "timestamp".to_string()).to_ascii_lowercase();
        if !TYPES.contains(&data_type.as_str()) {
            let d = self.diag(p, &format!("{key}.data_type"), format!("unknown partition data_type `{}`", escape(&data_type))).one_of(&data_type, &TYPES);
            self.diags.push(d);
            ok = false;
        }
        if let Some(g) = &granularity {
            let valid: &[&str] = if data_type == "date" { &["day", "month", "year"] } else { &["hour", "day", "month", "year"] };
            if !valid.contains(&g.as_str()) {
                let d = self.diag(p, &format!("{key}.granularity"), format!("granularity `{}` is not valid for a {data_type} partition", escape(g))).one_of(g, valid);
                self.diags.push(d);
                ok = false;
            }
        }
        ok.then_some(PartitionBy { field, data_type, granularity })
    }

    /// The table format (`file_format` or `table_type`, whichever the dialect takes).
    pub(super) fn table_format(&mut self, file_format: Option<&Spanned<String>>, table_type: Option<&Spanned<String>>, k: &dyn Fn(&str) -> String, dialect: &'static Dialect) -> Option<String> {
        let mut chosen = None;
        for (spec_key, given) in [("file_format", file_format), ("table_type", table_type)] {
            let Some(given) = given else { continue };
            let Some(format) = dialect.table_format.as_ref().filter(|f| f.key == spec_key) else {
                let hint = match &dialect.table_format {
                    Some(f) => format!("{} takes `{}` instead", dialect.name, f.key),
                    None => "drop it: this adapter has no table format to choose".to_string(),
                };
                self.err(given, &k(spec_key), format!("`{spec_key}` is not a config of {}", dialect.name), Some(&hint));
                continue;
            };
            if !format.values.contains(&given.value.as_str()) {
                let d = self.diag(given, &k(spec_key), format!("unknown {spec_key} `{}` for {}", escape(&given.value), dialect.name)).one_of(&given.value, format.values);
                self.diags.push(d);
                continue;
            }
            chosen = Some(given.value.clone());
        }
        chosen
    }

    /// `deleted: col`, `deleted: col is not null` or `deleted: col = 'value'`.
    pub(super) fn deleted(&mut self, d: &Spanned<String>, key: &str) -> Option<Deleted> {
        let text = d.value.trim();
        let hint = "write the column the loader marks deletes with: `deleted: _fivetran_deleted` (a boolean), `deleted: _ab_cdc_deleted_at is not null`, or `deleted: op = 'd'`";
        let (column, test) = if let Some((column, value)) = text.split_once('=') {
            let value = value.trim();
            let literal = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\''));
            match literal {
                Some(v) if !v.is_empty() && !v.contains(['\'', '\\']) && v.chars().all(|c| !c.is_control()) => (column.trim(), DeletedTest::Equals(v.to_string())),
                _ if value.eq_ignore_ascii_case("true") => (column.trim(), DeletedTest::IsTrue),
                _ => {
                    self.err(d, key, format!("`deleted` compares `{}` with `{}`, which is not a quoted value", escape(column.trim()), escape(value)), Some(hint));
                    return None;
                }
            }
        } else {
            let lower = text.to_ascii_lowercase();
            match lower.strip_suffix(" is not null") {
                Some(_) => (text[..text.len() - " is not null".len()].trim(), DeletedTest::NotNull),
                None => (text, DeletedTest::IsTrue),
            }
        };
        match self.name_problem(column) {
            None => Some(Deleted { column: column.to_string(), test }),
            Some(problem) => {
                self.err(d, key, format!("invalid deleted column `{}`: {problem}", escape(column)), Some(hint));
                None
            }
        }
    }
}
