//! Offline compile: renders a generated model, with the dbt_incr macros, under a mock dbt
//! context, so a reviewer (or a test) sees the SQL each branch runs on each warehouse without a
//! connection.
//!
//! The mock is deliberately small: it implements what generated models and the macro package
//! call (`config`, `is_incremental`, `var`, `source`, `ref`, `this`, `adapter.dispatch`,
//! `adapter.get_columns_in_relation`, `run_query`, `exceptions.raise_compiler_error`,
//! `model.batch`), with the values of one [`Branch`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Environment, ErrorKind, State};

use crate::dialect::Dialect;
use crate::error::Error;
use crate::render::macros;
use crate::spec::{Model, Relation};

/// Which path through a generated model to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Branch {
    /// First run or `--full-refresh`: `is_incremental()` is false.
    FullRefresh,
    /// A scheduled run: `is_incremental()` is true, no backfill vars.
    Incremental,
    /// `--vars '{backfill_start: "2024-01-01", backfill_end: "2024-02-01"}'` on an existing table.
    Backfill,
}

impl Branch {
    pub const ALL: [Branch; 3] = [Branch::FullRefresh, Branch::Incremental, Branch::Backfill];

    pub fn name(self) -> &'static str {
        match self {
            Branch::FullRefresh => "full-refresh",
            Branch::Incremental => "incremental",
            Branch::Backfill => "backfill",
        }
    }
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The backfill window the mock passes as `--vars`.
pub const MOCK_BACKFILL: (&str, &str) = ("2024-01-01", "2024-02-01");
/// The microbatch batch the mock compiles: dbt's batch bounds are UTC datetimes, which render
/// with their offset.
pub const MOCK_BATCH: (&str, &str) = ("2024-01-01 00:00:00+00:00", "2024-01-02 00:00:00+00:00");
/// What the mock `run_query` answers for a watermark query.
pub const MOCK_WATERMARK: &str = "2024-03-01 00:00:00.000000";
/// Marks errors raised through `exceptions.raise_compiler_error`.
pub const COMPILER_ERROR: &str = "Compilation Error: ";
/// The target schema of the mock project.
pub const MOCK_SCHEMA: &str = "analytics";

/// What the mock answers beyond its defaults.
#[derive(Debug, Clone, Default)]
pub struct Mock {
    /// `backfill_start` / `backfill_end` vars (either may be absent); default: none, or
    /// [`MOCK_BACKFILL`] for the backfill branch.
    pub vars: Option<(Option<String>, Option<String>)>,
    /// The columns `adapter.get_columns_in_relation` reports for the model's input, as
    /// `(name, data type)`; default: the spec's `columns`, else stand-ins ([`stand_in_columns`]).
    pub source_columns: Option<Vec<(String, String)>>,
    /// The microbatch batch `(start, end)`, as dbt renders its bounds
    /// (`2024-01-01 00:00:00+00:00`); default: [`MOCK_BATCH`].
    pub batch: Option<(String, String)>,
    /// Configs dbt resolves for the model beyond its own `config()` call, such as dbt_project.yml's
    /// `+require_partition_filter: true` for its folder: what `config.get` answers for keys the
    /// model does not set.
    pub config: serde_json::Map<String, serde_json::Value>,
}

/// A compiled branch, and whether the model read its input's columns from stand-ins.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub sql: String,
    /// The columns the mock reported for the input when they were neither given nor in the spec.
    pub stand_ins: Option<Vec<String>>,
}

/// Compiles `model_sql` (a generated model file) for one branch, as dbt would on `dialect`.
pub fn compile(model: &Model, model_sql: &str, dialect: &'static Dialect, branch: Branch) -> Result<String, Error> {
    compile_with(model, model_sql, dialect, branch, &Mock::default()).map(|c| c.sql)
}

/// As [`compile`], with what the mock answers spelled out.
pub fn compile_with(model: &Model, model_sql: &str, dialect: &'static Dialect, branch: Branch, mock: &Mock) -> Result<Compiled, Error> {
    let vars = mock.vars.as_ref().map(|(s, e)| (s.as_deref(), e.as_deref()));
    let mut source = String::new();
    for (_, text) in macros::FILES {
        // The package as the project holds it: in the spec's keyword case.
        let text = crate::render::case::apply(text, model.keyword_case);
        source.push_str(&generic_tests_as_macros(&resolve_dispatch(&text, dialect)));
        source.push('\n');
    }
    // Macro definitions render to blank lines; the marker tells where the model starts.
    const START: &str = "\u{1}dbt-incr-model-start\u{1}";
    source.push_str(START);
    source.push_str(model_sql);

    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_global("config", Value::from_object(MockConfig { values: std::sync::Mutex::new(mock.config.iter().map(|(k, v)| (k.clone(), Value::from(minijinja::value::Serde(v)))).collect()) }));
    let incremental = branch != Branch::FullRefresh;
    env.add_function("is_incremental", move || incremental);
    let (start, end) = match (vars, branch) {
        (Some(v), _) => (v.0.map(str::to_string), v.1.map(str::to_string)),
        (None, Branch::Backfill) => (Some(MOCK_BACKFILL.0.to_string()), Some(MOCK_BACKFILL.1.to_string())),
        (None, _) => (None, None),
    };
    env.add_function("var", move |name: String, default: Option<Value>| -> Value {
        let value = match name.as_str() {
            "backfill_start" => start.clone(),
            "backfill_end" => end.clone(),
            _ => None,
        };
        value.map(Value::from).unwrap_or_else(|| default.unwrap_or(Value::from(())))
    });
    env.add_function("source", |source: String, table: String| MockRelation::value(&source, &table));
    env.add_function("ref", |a: String, b: Option<String>| MockRelation::value(MOCK_SCHEMA, b.as_deref().unwrap_or(&a)));
    env.add_function("run_query", |_sql: String| Value::from_object(MockTable));
    // The target exists in the incremental and backfill branches, not on a first run.
    let this = MockRelation::value(MOCK_SCHEMA, &model.name);
    let existing = if incremental { this.clone() } else { Value::from(()) };
    env.add_function("load_relation", move |_relation: Value| existing.clone());
    env.add_global("api", Value::from_pairs([("Relation", Value::from_object(MockRelationApi))]));
    env.add_global("this", this);
    env.add_global("execute", true);
    env.add_global("exceptions", Value::from_object(MockExceptions));
    let (columns, stand_ins) = match (&mock.source_columns, &model.columns) {
        (Some(given), _) => (given.clone(), false),
        (None, Some(spec)) => (spec.iter().map(|c| (c.clone(), String::new())).collect(), false),
        (None, None) => (stand_in_columns(model).into_iter().map(|c| (c, String::new())).collect(), true),
    };
    let adapter = Arc::new(MockAdapter { columns, from: relation_name(&model.from), quote: dialect.quote, asked: AtomicBool::new(false) });
    env.add_global("adapter", Value::from_dyn_object(adapter.clone()));
    let batch = mock.batch.clone().unwrap_or_else(|| (MOCK_BATCH.0.to_string(), MOCK_BATCH.1.to_string()));
    env.add_global(
        "model",
        Value::from_pairs([
            ("resource_type", Value::from("model")),
            (
                "batch",
                Value::from_pairs([
                    ("event_time_start", Value::from_object(MockDatetime(batch.0))),
                    ("event_time_end", Value::from_object(MockDatetime(batch.1))),
                ]),
            ),
        ]),
    );

    let template = env.template_from_named_str("compile", &source).map_err(|source| Error::Template { name: model.name.clone(), source })?;
    let rendered = template.render(()).map_err(|source| match source.detail().and_then(|d| d.strip_prefix(COMPILER_ERROR)) {
        // What the model or a macro raised on purpose, as dbt would report it.
        Some(message) => Error::from(crate::error::Diagnostic::new(format!("dbt compile error in model {}: {message}", model.name))),
        None => Error::Template { name: model.name.clone(), source },
    })?;
    let sql = rendered.split_once(START).map(|(_, s)| s).unwrap_or(&rendered);
    let asked = adapter.asked.load(Ordering::Relaxed);
    Ok(Compiled { sql: tidy(sql), stand_ins: (stand_ins && asked).then(|| adapter.columns.iter().map(|(n, _)| n.clone()).collect()) })
}

/// Replaces `adapter.dispatch('name')` with the macro dbt would pick for `dialect`.
fn resolve_dispatch(text: &str, dialect: &Dialect) -> String {
    const CALL: &str = "adapter.dispatch('";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(CALL) {
        out.push_str(&rest[..at]);
        let after = &rest[at + CALL.len()..];
        let close = after.find("')").expect("dispatch calls are closed");
        let name = &after[..close];
        let chosen = dialect
            .dispatch_prefixes()
            .into_iter()
            .map(|prefix| format!("{prefix}__{name}"))
            .find(|candidate| macros::FILES.iter().any(|(_, src)| src.contains(&format!("macro {candidate}("))))
            .unwrap_or_else(|| format!("default__{name}"));
        out.push_str(&chosen);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// dbt turns `{% test name(...) %}` blocks into macros named `test_name`; so does the mock.
fn generic_tests_as_macros(text: &str) -> String {
    text.replace("{% test ", "{% macro test_")
        .replace("{%- test ", "{%- macro test_")
        .replace("{% endtest %}", "{% endmacro %}")
        .replace("{%- endtest %}", "{%- endmacro %}")
        .replace("{% endtest -%}", "{% endmacro -%}")
        .replace("{%- endtest -%}", "{%- endmacro -%}")
}

/// Drops the blank lines Jinja tags leave behind: leading ones, and runs of more than one.
fn tidy(sql: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in sql.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if blank > 0 && !out.is_empty() {
            out.push('\n');
        }
        blank = 0;
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn relation_name(r: &Relation) -> String {
    match r {
        Relation::Source { source, table } => format!("{source}.{table}"),
        Relation::Ref { model, .. } => format!("{MOCK_SCHEMA}.{model}"),
    }
}

/// The input's columns the mock reports when neither `--columns` nor the spec's `columns` says:
/// the model's key, a payload column, its event time and its load time.
pub fn stand_in_columns(model: &Model) -> Vec<String> {
    let mut cols = model.unique_key.clone();
    cols.push("payload".into());
    cols.extend(model.event_time.clone());
    cols.push(model.load_time.clone());
    cols
}

#[derive(Debug)]
struct MockAdapter {
    /// `(name, data type)`; the type is empty when unknown.
    columns: Vec<(String, String)>,
    from: String,
    /// How `adapter.quote` quotes an identifier on the dialect.
    quote: char,
    /// Whether the model asked for its input's columns.
    asked: AtomicBool,
}

impl Object for MockAdapter {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "get_columns_in_relation" => {
                let relation = args.first().map(|v| v.to_string()).unwrap_or_default();
                if relation != self.from {
                    return Err(minijinja::Error::new(ErrorKind::InvalidOperation, format!("mock knows the columns of {} only, not {relation}", self.from)));
                }
                self.asked.store(true, Ordering::Relaxed);
                let column = |(name, dtype): &(String, String)| Value::from_pairs([("name", name.as_str()), ("dtype", dtype.as_str()), ("data_type", dtype.as_str())]);
                Ok(Value::from(self.columns.iter().map(column).collect::<Vec<_>>()))
            }
            "quote" => {
                let name = args.first().map(|v| v.to_string()).unwrap_or_default();
                let q = self.quote;
                Ok(Value::from(format!("{q}{name}{q}")))
            }
            "parse_partition_by" => {
                let raw = args.first().cloned().unwrap_or_default();
                if raw.is_none() || raw.is_undefined() {
                    return Ok(Value::from(()));
                }
                let field = raw.get_attr("field")?.to_string();
                let ingestion = raw.get_attr("time_ingestion_partitioning").map(|v| v.is_true()).unwrap_or(false);
                Ok(Value::from_object(MockPartitionBy { field, ingestion }))
            }
            // dbt-databricks: whether the runtime takes `insert into … replace on` (DBR 17.1+).
            "has_dbr_capability" => Ok(Value::from(true)),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("the mock adapter has no method {method}"))),
        }
    }
}

/// A relation: `schema.identifier` when rendered, with dbt's attributes and `render()`. Shared
/// with the audit's mock of arbitrary project models.
#[derive(Debug)]
pub struct MockRelation {
    schema: String,
    identifier: String,
}

impl MockRelation {
    pub fn value(schema: &str, identifier: &str) -> Value {
        Value::from_object(MockRelation { schema: schema.to_string(), identifier: identifier.to_string() })
    }
}

impl Object for MockRelation {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "database" => Some(Value::from("db")),
            "schema" => Some(Value::from(self.schema.as_str())),
            "identifier" | "name" => Some(Value::from(self.identifier.as_str())),
            // dbt_utils checks `obj.get('metadata', {}).get('type', '').endswith('Relation')`.
            "metadata" => Some(Value::from_pairs([("type", Value::from("MockRelation"))])),
            _ => None,
        }
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "render" => Ok(Value::from(format!("{}.{}", self.schema, self.identifier))),
            // dbt's relation builders; the mock relation renders the same either way.
            "include" | "quote" | "incorporate" | "without_identifier" => Ok(Value::from_object(MockRelation { schema: self.schema.clone(), identifier: self.identifier.clone() })),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("the mock relation has no method {method}"))),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.identifier)
    }
}

/// `api.Relation.create(database=…, schema=…, identifier=…)`.
#[derive(Debug)]
pub struct MockRelationApi;

impl Object for MockRelationApi {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "create" => {
                let (_, kwargs): (&[Value], Kwargs) = minijinja::value::from_args(args)?;
                let schema: String = kwargs.get("schema")?;
                let identifier: String = kwargs.get("identifier")?;
                let _database: Option<Value> = kwargs.get("database")?;
                kwargs.assert_all_used()?;
                Ok(MockRelation::value(&schema, &identifier))
            }
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("api.Relation has no method {method}"))),
        }
    }
}

/// `exceptions.raise_compiler_error(message)`: fails the render with [`COMPILER_ERROR`].
#[derive(Debug)]
pub struct MockExceptions;

impl Object for MockExceptions {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "raise_compiler_error" => {
                let message = args.first().map(|v| v.to_string()).unwrap_or_default();
                Err(minijinja::Error::new(ErrorKind::InvalidOperation, format!("{COMPILER_ERROR}{message}")))
            }
            "warn" | "warn_snapshot_timestamp_data_types" => Ok(Value::from("")),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("exceptions has no method {method}"))),
        }
    }
}

/// `config`: `config(...)` renders nothing and records the model's own settings;
/// `config.get(key, default)` answers from them, else from [`Mock::config`], else the default.
#[derive(Debug)]
struct MockConfig {
    values: std::sync::Mutex<std::collections::BTreeMap<String, Value>>,
}

impl Object for MockConfig {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, minijinja::Error> {
        if let Some(kwargs) = args.last().and_then(|v| Kwargs::try_from(v.clone()).ok()) {
            let mut values = self.values.lock().expect("not poisoned");
            for key in kwargs.args().map(str::to_string).collect::<Vec<_>>() {
                values.insert(key.clone(), kwargs.get::<Value>(&key)?);
            }
        }
        Ok(Value::from(""))
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "get" => {
                let key = args.first().map(|v| v.to_string()).unwrap_or_default();
                let known = self.values.lock().expect("not poisoned").get(&key).cloned();
                Ok(known.or_else(|| args.get(1).cloned()).unwrap_or(Value::from(())))
            }
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("config has no method {method}"))),
        }
    }
}

/// `adapter.parse_partition_by(...)` on BigQuery: the field, and whether the table is
/// partitioned by ingestion time.
#[derive(Debug)]
struct MockPartitionBy {
    field: String,
    ingestion: bool,
}

impl Object for MockPartitionBy {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "field" => Some(Value::from(self.field.clone())),
            "time_ingestion_partitioning" => Some(Value::from(self.ingestion)),
            _ => None,
        }
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "time_partitioning_field" => Ok(Value::from("_PARTITIONTIME")),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("partition_by has no method {method}"))),
        }
    }
}

/// `run_query(...)` result: `.columns[0].values()[0]` is [`MOCK_WATERMARK`].
#[derive(Debug)]
struct MockTable;

impl Object for MockTable {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (key.as_str() == Some("columns")).then(|| Value::from(vec![Value::from_object(MockColumn)]))
    }
}

#[derive(Debug)]
struct MockColumn;

impl Object for MockColumn {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "values" => Ok(Value::from(vec![Value::from(MOCK_WATERMARK)])),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("a column has no method {method}"))),
        }
    }
}

/// A datetime with `strftime` (always answering its fixed text).
#[derive(Debug)]
pub struct MockDatetime(pub String);

impl Object for MockDatetime {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "strftime" => Ok(Value::from(self.0.as_str())),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("a datetime has no method {method}"))),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
