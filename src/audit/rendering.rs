//! Renders a hand-written model offline, as dbt would, under a mock dbt context: the approach of
//! `crate::compile` (minijinja, mock `ref`/`source`/`this`/`config`/`var`/`adapter`/`run_query`)
//! generalised to arbitrary project models, with the project's own macros and its packages'
//! macros (`dbt_packages/`) loaded, and a small stand-in for dbt's built-in macros (`dbt.*`).
//!
//! Each model renders once per [`Mode`]: `is_incremental()` false (first run, full refresh), true,
//! and true on an empty target (watermark queries answer NULL). Every line of the model that
//! starts outside Jinja is marked with a SQL comment `/*@L<n>*/`, so what the analysis finds in
//! the rendered SQL maps back to the model's own line.
//!
//! What the mock answers: `this` renders as `dbt_this.<model>`, `ref('m')` as `dbt_ref.m`,
//! `source('s', 't')` as `s.t`; `target.name` is `prod`; `run_query()` and `statement` blocks
//! answer [`TARGET_WATERMARK`] (NULL on an empty target); `run_started_at` is [`RUN_STARTED_AT`];
//! `var()` reads dbt_project.yml's `vars`, else its default, else its own name.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Serde, Value};
use minijinja::{Environment, ErrorKind, State, UndefinedBehavior};

use crate::compile::{COMPILER_ERROR, MockExceptions, MockRelation};
use crate::dialect::Dialect;
use crate::spec::Relation;

/// The schema `{{ this }}` renders in.
pub const THIS_SCHEMA: &str = "dbt_this";
/// The schema `ref()` renders in.
pub const REF_SCHEMA: &str = "dbt_ref";
/// What a watermark query answers on an existing target.
pub const TARGET_WATERMARK: &str = "2024-03-01 00:00:00";
/// `run_started_at`: a literal starting with this date is the clock.
pub const RUN_STARTED_AT: &str = "2024-03-05 06:00:00";
/// The start of a line marker: `/*@L12*/`.
pub const LINE_MARK: &str = "/*@L";
/// Names of the mock that project macros do not replace.
const MOCK_NAMES: &[&str] = &["config", "ref", "source", "is_incremental", "var", "env_var", "run_query", "statement", "load_result", "return", "this", "target", "adapter", "log", "print"];
/// dbt's cross-database macros (`dbt.dateadd`, …), reduced to SQL the analysis recognises.
const BUILTINS: &str = include_str!("builtins.sql");
/// Stand-ins for dbt_utils' common macros, when the project uses dbt_utils without installing it.
const DBT_UTILS: &str = include_str!("dbt_utils.sql");
const STAND_INS: &str = "(dbt_utils stand-ins)";

/// Which path through the model to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `is_incremental()` false.
    FullRefresh,
    /// `is_incremental()` true, the target holds rows.
    Incremental,
    /// `is_incremental()` true, the target exists but is empty: watermark queries answer NULL.
    EmptyTarget,
}

/// A file of macros and the package it belongs to.
#[derive(Debug, Clone)]
pub struct MacroFile {
    pub package: String,
    /// As shown in messages.
    pub path: String,
    pub text: String,
}

/// A model to render: its name, its Jinja, and the config dbt resolved for it (from the manifest
/// or dbt_project.yml), which `config.get()` answers.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub config: &'a serde_json::Map<String, serde_json::Value>,
}

/// One rendering of a model.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub sql: String,
    /// Every `config()` argument the model passed, in call order.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// The relations `ref()` and `source()` rendered, by their rendered name (lowercase).
    pub relations: BTreeMap<String, Relation>,
    /// SQL sent to the warehouse during rendering (`run_query`, `statement`).
    pub queries: Vec<String>,
}

/// What one render collects, kept per thread (renders never nest).
#[derive(Default)]
struct Log {
    mode: Option<Mode>,
    config: serde_json::Map<String, serde_json::Value>,
    relations: BTreeMap<String, Relation>,
    queries: Vec<String>,
    /// `return()` values, one slot per macro call in progress.
    returns: Vec<Option<Value>>,
    /// The imported macro modules of the render in progress.
    modules: Vec<Value>,
    /// `statement` results by name.
    results: BTreeMap<String, Value>,
    /// `this` and `model` of the model being rendered (macros see them too, as in dbt).
    this: Option<Value>,
    model: Option<Value>,
}

thread_local! {
    static LOG: RefCell<Log> = RefCell::new(Log::default());
}

/// Renders models of one project: the macros are compiled once.
pub struct Renderer {
    env: Environment<'static>,
    /// Macro files minijinja could not read, with why: a model calling one of their macros is
    /// not analysed, with this reason.
    pub skipped: Vec<(String, String)>,
    /// The identifiers of each macro template (`__m<k>`).
    files_words: Vec<Vec<String>>,
    /// Macro name -> the templates defining it.
    index: HashMap<String, Vec<usize>>,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer").field("skipped", &self.skipped).finish()
    }
}

/// Where a macro lives: the renamed definition in the macro template.
fn impl_name(package: usize, name: &str) -> String {
    format!("dbtincr_p{package}__{name}")
}

impl Renderer {
    /// `packages`: the root project first, then the installed packages, each with its macro files.
    pub fn new(root: &str, packages: &[(String, Vec<MacroFile>)], dialect: &'static Dialect, vars: &serde_json::Value) -> Renderer {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_unknown_method_callback(python_methods);
        let mut skipped = Vec::new();
        // Package 0 is dbt's built-ins (the `dbt` namespace), then the root, then packages.
        let mut all: Vec<(String, Vec<MacroFile>)> = vec![("dbt".to_string(), vec![MacroFile { package: "dbt".into(), path: "(dbt built-ins)".into(), text: BUILTINS.to_string() }])];
        all.extend(packages.iter().cloned());
        if !all.iter().any(|(p, _)| p == "dbt_utils") {
            all.push(("dbt_utils".to_string(), vec![MacroFile { package: "dbt_utils".into(), path: STAND_INS.into(), text: DBT_UTILS.to_string() }]));
            skipped.push((STAND_INS.to_string(), "dbt_utils is not installed: its common macros are stand-ins".to_string()));
        }
        // name -> impl per package; globals by priority root > packages > dbt. Each macro file is
        // a template of its own, imported only by the models that may call one of its macros.
        let mut namespaces: Vec<(String, BTreeMap<String, String>)> = Vec::new();
        let mut files_words: Vec<Vec<String>> = Vec::new();
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (package, files)) in all.iter().enumerate() {
            let mut names = BTreeMap::new();
            for file in files {
                let prepared = prepare(&file.text);
                let (renamed, defined) = rename_macros(&prepared, i);
                if defined.is_empty() {
                    continue;
                }
                if let Err(e) = env.template_from_str(&renamed) {
                    skipped.push((file.path.clone(), format!("{} ({})", e.detail().unwrap_or("syntax error"), defined.join(", "))));
                    continue;
                }
                let k = files_words.len();
                files_words.push(words(&prepared));
                let _ = env.add_template_owned(format!("__m{k}"), renamed);
                for name in defined {
                    // `postgres__load_window` is reached through `load_window`.
                    let short = name.split_once("__").map(|(_, s)| s.to_string());
                    for key in std::iter::once(name.clone()).chain(short) {
                        let files = index.entry(key).or_default();
                        if !files.contains(&k) {
                            files.push(k);
                        }
                    }
                    names.insert(name.clone(), impl_name(i, &name));
                }
            }
            namespaces.push((package.clone(), names));
        }
        let mut globals: BTreeMap<String, String> = BTreeMap::new();
        // dbt built-ins last, the root project first: later inserts lose.
        let order: Vec<usize> = std::iter::once(1).chain(2..namespaces.len()).chain([0]).filter(|i| *i < namespaces.len()).collect();
        for i in &order {
            for (name, imp) in &namespaces[*i].1 {
                globals.entry(name.clone()).or_insert_with(|| imp.clone());
            }
        }
        let all_impls: Arc<Vec<(String, BTreeMap<String, String>)>> = Arc::new(namespaces.clone());
        for (name, imp) in &globals {
            if !MOCK_NAMES.contains(&name.as_str()) {
                env.add_global(name.clone(), Value::from_object(MacroRef { name: name.clone(), imp: imp.clone() }));
            }
        }
        // `dbt_utils.star(...)`, `dbt.dateadd(...)`, `my_project.helper(...)`.
        for (package, names) in &namespaces {
            if !MOCK_NAMES.contains(&package.as_str()) {
                env.add_global(package.clone(), Value::from_object(Namespace { package: package.clone(), names: names.clone() }));
            }
        }

        env.add_function("is_incremental", || LOG.with(|l| l.borrow().mode != Some(Mode::FullRefresh)));
        env.add_function("should_full_refresh", || false);
        env.add_global("config", Value::from_object(MockConfig));
        env.add_function("ref", |args: &[Value]| -> Result<Value, minijinja::Error> {
            let names: Vec<String> = args.iter().filter(|a| !a.is_kwargs()).map(|a| a.to_string()).collect();
            let (package, model) = match names.as_slice() {
                [m] => (None, m.clone()),
                [p, m] => (Some(p.clone()), m.clone()),
                _ => return Err(minijinja::Error::new(ErrorKind::InvalidOperation, "ref() takes one or two names")),
            };
            let rendered = format!("{REF_SCHEMA}.{model}");
            LOG.with(|l| l.borrow_mut().relations.insert(rendered.to_ascii_lowercase(), Relation::Ref { package, model: model.clone() }));
            Ok(MockRelation::value(REF_SCHEMA, &model))
        });
        env.add_function("source", |source: String, table: String| {
            LOG.with(|l| l.borrow_mut().relations.insert(format!("{source}.{table}").to_ascii_lowercase(), Relation::Source { source: source.clone(), table: table.clone() }));
            MockRelation::value(&source, &table)
        });
        let vars = vars.clone();
        let project_name = root.to_string();
        env.add_function("var", move |state: &State<'_, '_>, name: String, default: Option<Value>| -> Value {
            let scoped = vars.get(&project_name).and_then(|v| v.get(&name));
            match scoped.or_else(|| vars.get(&name)) {
                // dbt renders the Jinja in dbt_project.yml's vars (`"{{ env_var('X', '3') }}"`).
                Some(serde_json::Value::String(s)) if s.contains("{{") => Value::from(state.env().render_str(s, ()).unwrap_or_else(|_| s.clone())),
                Some(v) => json_value(v),
                None => default.unwrap_or_else(|| Value::from(name)),
            }
        });
        env.add_function("env_var", |name: String, default: Option<Value>| default.unwrap_or_else(|| Value::from(name)));
        env.add_function("run_query", |sql: Value| -> Value {
            let sql = sql.to_string();
            let empty = answers_null(&sql);
            LOG.with(|l| l.borrow_mut().queries.push(sql));
            Value::from_object(MockTable { empty })
        });
        env.add_global("statement", Value::from_object(MockStatement));
        env.add_function("load_result", |name: String| -> Value {
            LOG.with(|l| l.borrow().results.get(&name).cloned()).unwrap_or_else(|| Value::from(()))
        });
        env.add_function("return", |value: Value| -> String {
            LOG.with(|l| {
                if let Some(slot) = l.borrow_mut().returns.last_mut()
                    && slot.is_none()
                {
                    *slot = Some(value);
                }
            });
            String::new()
        });
        env.add_function("__dbtincr_register", |module: Value| -> String {
            LOG.with(|l| l.borrow_mut().modules.push(module));
            String::new()
        });
        env.add_function("__dbtincr_list", |items: Option<Value>| Value::from_object(MutableList::new(items)));
        env.add_function("__dbtincr_dict", |items: Option<Value>| Value::from_object(MutableMap::new(items)));
        env.add_function("log", |_args: &[Value]| String::new());
        env.add_function("print", |_args: &[Value]| String::new());
        env.add_function("tojson", |v: Value| serde_json::to_string(&v).unwrap_or_default());
        env.add_function("fromjson", |s: String| serde_json::from_str::<serde_json::Value>(&s).map(|v| json_value(&v)).unwrap_or(Value::from(())));
        env.add_function("zip", |a: Vec<Value>, b: Vec<Value>| a.into_iter().zip(b).map(|(x, y)| Value::from(vec![x, y])).collect::<Vec<_>>());
        env.add_function("set", |items: Vec<Value>| {
            let mut out: Vec<Value> = Vec::new();
            for i in items {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
            out
        });
        env.add_function("local_md5", |s: String| format!("md5_{}", s.len()));
        for filter in ["as_text", "as_native", "as_bool", "as_number"] {
            env.add_filter(filter, |v: Value| v);
        }
        env.add_global("this", Value::from_object(Current("this")));
        env.add_global("model", Value::from_object(Current("model")));
        env.add_global("execute", true);
        env.add_global("flags", json_value(serde_json::json!({ "FULL_REFRESH": false, "WHICH": "run", "STORE_FAILURES": false })));
        env.add_global("invocation_id", "00000000-0000-0000-0000-000000000000");
        env.add_global("run_started_at", Value::from_object(Clock));
        env.add_global("exceptions", Value::from_object(MockExceptions));
        env.add_global("api", Value::from_pairs([("Relation", Value::from_object(RelationApi)), ("Column", Value::from_object(ColumnApi))]));
        env.add_global("graph", json_value(serde_json::json!({ "nodes": {}, "sources": {}, "macros": {} })));
        env.add_global(
            "modules",
            Value::from_pairs([("datetime", Value::from_pairs([("datetime", Value::from_object(ClockFactory)), ("date", Value::from_object(ClockFactory))]))]),
        );
        env.add_global(
            "target",
            json_value(serde_json::json!({
                "name": "prod", "target_name": "prod", "type": dialect.name, "schema": "analytics", "dataset": "analytics",
                "database": "db", "project": "db", "profile_name": "default", "threads": 4, "user": "dbt",
            })),
        );
        env.add_global("adapter", Value::from_object(MockAdapter { dialect, namespaces: all_impls }));
        Renderer { env, skipped, files_words, index }
    }

    /// The macro files a text may reach: those defining a word of it, then theirs, transitively.
    fn needed(&self, text: &str) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let mut pending: Vec<String> = words(text);
        let mut seen: std::collections::HashSet<String> = pending.iter().cloned().collect();
        while let Some(word) = pending.pop() {
            for k in self.index.get(&word).into_iter().flatten() {
                if out.contains(k) {
                    continue;
                }
                out.push(*k);
                for w in &self.files_words[*k] {
                    if seen.insert(w.clone()) {
                        pending.push(w.clone());
                    }
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Compiles `model` once and hands `f` a function rendering it in a mode (the error is the
    /// reason it could not be rendered).
    pub fn with_model<R>(&self, model: &Input<'_>, f: impl FnOnce(&dyn Fn(Mode) -> Result<Rendered, String>) -> R) -> R {
        let prepared = prepare(model.text);
        // The imports share the model's first line, so line numbers stay the model's.
        let mut source = String::new();
        for k in self.needed(&prepared) {
            source.push_str(&format!("{{% import '__m{k}' as __dbtincr_m{k} %}}{{{{ __dbtincr_register(__dbtincr_m{k}) }}}}"));
        }
        source.push_str(&mark_lines(&prepared));
        let template = self.env.template_from_named_str("model.sql", &source);
        let model_value = json_value(serde_json::json!({
            "name": model.name, "alias": model.name, "resource_type": "model", "unique_id": format!("model.project.{}", model.name),
            "config": model.config,
            "batch": { "event_time_start": "2024-03-04 00:00:00", "event_time_end": "2024-03-05 00:00:00", "id": "20240304" },
        }));
        let render = |mode: Mode| -> Result<Rendered, String> {
            let template = template.as_ref().map_err(|e| describe(e, &self.skipped))?;
            LOG.with(|l| {
                *l.borrow_mut() = Log {
                    mode: Some(mode),
                    config: model.config.clone(),
                    this: Some(MockRelation::value(THIS_SCHEMA, model.name)),
                    model: Some(model_value.clone()),
                    ..Log::default()
                };
            });
            let result = template.render(());
            let log = LOG.with(|l| std::mem::take(&mut *l.borrow_mut()));
            match result {
                Ok(sql) => Ok(Rendered { sql, config: log.config, relations: log.relations, queries: log.queries }),
                Err(e) => Err(describe(&e, &self.skipped)),
            }
        };
        f(&render)
    }

    /// Renders `model` in `mode`. The error is the reason it could not be rendered.
    pub fn render(&self, model: &Input<'_>, mode: Mode) -> Result<Rendered, String> {
        self.with_model(model, |render| render(mode))
    }
}

/// The identifiers in a text, each once.
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')).map(str::to_string).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether a query answers NULL: on an empty target, unless it falls back (`coalesce(max(…), …)`).
fn answers_null(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    LOG.with(|l| l.borrow().mode == Some(Mode::EmptyTarget)) && !["coalesce(", "ifnull(", "nvl(", "isnull(", "zeroifnull("].iter().any(|f| lower.contains(f))
}

/// A JSON value as a template value.
fn json_value<T: serde::Serialize>(v: T) -> Value {
    Value::from(Serde(v))
}

/// A render error as a reason: the message, the line of the model, and the macro file that could
/// not be read when the error is about one of its macros.
fn describe(e: &minijinja::Error, skipped: &[(String, String)]) -> String {
    let detail = e.detail().map(str::to_string).unwrap_or_else(|| e.kind().to_string());
    if let Some(message) = detail.strip_prefix(COMPILER_ERROR) {
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        let message = if message.chars().count() > 300 { format!("{}…", message.chars().take(299).collect::<String>()) } else { message };
        return format!("it raises a compile error under the mock: {message}");
    }
    let mut out = format!("it does not render offline: {detail}");
    if detail.contains("`dbt_utils` has no macro") && skipped.iter().any(|(f, _)| f == STAND_INS) {
        out.push_str(" (dbt_utils is not installed, and audit's stand-ins cover only its common macros: run `dbt deps`)");
    } else if detail.contains("undefined") || e.kind() == ErrorKind::UnknownFunction {
        out.push_str(" (a macro or package that is neither in the project's macro-paths nor in its packages' folder)");
    }
    if e.name() == Some("model.sql")
        && let Some(line) = e.line()
    {
        out.push_str(&format!(" (line {line})"));
    }
    for (file, why) in skipped {
        let names = why.rsplit_once('(').map(|(_, n)| n.trim_end_matches(')')).unwrap_or("");
        if names.split(", ").any(|n| !n.is_empty() && detail.contains(n)) {
            out.push_str(&format!("; the macro file {file} could not be read: {why}"));
        }
    }
    out
}

/// dbt-isms minijinja lacks, rewritten: `{% test %}` blocks become macros, `{% materialization %}`
/// blocks are dropped, and list literals assigned with `{% set %}` become mutable lists (so
/// `{% do cols.append(c) %}` works).
pub fn prepare(text: &str) -> String {
    let mut s = text
        .replace("{% test ", "{% macro test_")
        .replace("{%- test ", "{%- macro test_")
        .replace("{% endtest %}", "{% endmacro %}")
        .replace("{%- endtest %}", "{%- endmacro %}")
        .replace("{% endtest -%}", "{% endmacro -%}")
        .replace("{%- endtest -%}", "{%- endmacro -%}");
    while let Some(start) = find_tag(&s, "materialization", 0) {
        let end = find_tag(&s, "endmaterialization", start).and_then(|e| s[e..].find("%}").map(|c| e + c + 2)).unwrap_or(s.len());
        s.replace_range(start..end, "");
    }
    // `{% set x = [ … ] %}` -> `{% set x = __dbtincr_list([ … ]) %}`.
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(at) = rest.find("{%") {
        let Some(close) = rest[at..].find("%}").map(|c| at + c) else { break };
        let tag = &rest[at..close];
        out.push_str(&rest[..at]);
        let inner = tag[2..].trim_start_matches('-').trim_start();
        // `{% ####### %}`, a separator Jinja2 reads as nothing.
        if !inner.is_empty() && inner.trim_end_matches('-').trim().chars().all(|c| c == '#') {
            rest = &rest[close + 2..];
            continue;
        }
        let rewritten = inner.strip_prefix("set ").and_then(|after| {
            let eq = after.find('=')?;
            let value = after[eq + 1..].trim();
            let value = value.trim_end_matches('-').trim_end();
            let wrapper = if value.starts_with('[') && value.ends_with(']') {
                "__dbtincr_list"
            } else if value.starts_with('{') && value.ends_with('}') {
                "__dbtincr_dict"
            } else {
                return None;
            };
            (!after[..eq].contains(['(', '[', '.'])).then(|| {
                let lead = &tag[..tag.len() - inner.len()];
                let trail = if tag.trim_end().ends_with('-') { " -" } else { " " };
                format!("{lead}set {} = {wrapper}({value}){trail}", after[..eq].trim())
            })
        });
        match rewritten {
            Some(r) => out.push_str(&r),
            None => out.push_str(tag),
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// The offset of the `{%` of the first `{% word …` tag at or after `from`.
fn find_tag(s: &str, word: &str, from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(at) = s.get(i..)?.find("{%").map(|p| p + i) {
        let inner = s[at + 2..].trim_start_matches('-').trim_start();
        if inner.starts_with(word) && inner[word.len()..].starts_with(|c: char| c.is_whitespace() || c == '%' || c == '-') {
            return Some(at);
        }
        i = at + 2;
    }
    None
}

/// Renames every `{% macro name(` to its package's implementation name; returns the text and the
/// names defined.
fn rename_macros(text: &str, package: usize) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("{%") {
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        let dash = rest.starts_with('-');
        let inner = rest.trim_start_matches('-').trim_start();
        if let Some(after) = inner.strip_prefix("macro ") {
            let after = after.trim_start();
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            let name = &after[..end];
            if !name.is_empty() && after[end..].trim_start().starts_with('(') {
                out.push_str(if dash { "- macro " } else { " macro " });
                out.push_str(&impl_name(package, name));
                names.push(name.to_string());
                rest = &after[end..];
                continue;
            }
        }
    }
    out.push_str(rest);
    (out, names)
}

/// Marks each line that starts outside Jinja tags, comments and SQL strings with `/*@L<n>*/`.
pub fn mark_lines(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    // Inside: 0 nothing, 1 `{{`, 2 `{%`, 3 `{#`, 4 SQL string, 5 SQL block comment.
    let mut inside = 0u8;
    let mut line = 1;
    let mut start = 0;
    let mut i = 0;
    let mut at_line_start = true;
    while i < b.len() {
        if at_line_start {
            if inside == 0 {
                out.push_str(&text[start..i]);
                out.push_str(&format!("{LINE_MARK}{line}*/"));
                start = i;
            }
            at_line_start = false;
        }
        let two = &b[i..(i + 2).min(b.len())];
        match inside {
            0 => match two {
                b"{{" => inside = 1,
                b"{%" => inside = 2,
                b"{#" => inside = 3,
                b"/*" => inside = 5,
                b"--" => {
                    while i + 1 < b.len() && b[i + 1] != b'\n' {
                        i += 1;
                    }
                }
                _ if b[i] == b'\'' => inside = 4,
                _ => {}
            },
            1 if two == b"}}" => {
                inside = 0;
                i += 1;
            }
            2 if two == b"%}" => {
                inside = 0;
                i += 1;
            }
            // A Jinja string (`post_hook='{{ x }}'`): its `}}` closes nothing.
            1 | 2 if b[i] == b'\'' || b[i] == b'"' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    } else if b[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            3 if two == b"#}" => {
                inside = 0;
                i += 1;
            }
            5 if two == b"*/" => {
                inside = 0;
                i += 1;
            }
            4 if b[i] == b'\'' => inside = 0,
            4 if two == b"{{" => {
                // Jinja inside a SQL string: `'{{ var("start") }}'`.
                while i + 1 < b.len() && &b[i..i + 2] != b"}}" {
                    i += 1;
                }
                i += 1;
            }
            _ => {}
        }
        if i < b.len() && b[i] == b'\n' {
            line += 1;
            at_line_start = true;
        }
        i += 1;
    }
    out.push_str(&text[start..]);
    out
}

/// The model line a position of the rendered SQL comes from: the last marker before it.
pub fn source_line(sql: &str, offset: usize) -> Option<usize> {
    let before = &sql[..offset.min(sql.len())];
    let at = before.rfind(LINE_MARK)?;
    let digits: String = before[at + LINE_MARK.len()..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A macro called by name: runs its definition in the imported macro module, and answers what it
/// `return()`ed, else what it rendered.
#[derive(Debug)]
struct MacroRef {
    name: String,
    imp: String,
}

fn call_macro(state: &mut State<'_, '_>, name: &str, imp: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
    let modules = LOG.with(|l| l.borrow().modules.clone());
    let Some(target) = modules.iter().filter_map(|m| m.get_attr(imp).ok()).find(|t| !t.is_undefined()) else {
        return Err(minijinja::Error::new(ErrorKind::UnknownFunction, format!("macro {name} is not loaded (called by a name audit could not follow)")));
    };
    LOG.with(|l| l.borrow_mut().returns.push(None));
    let result = target.call(state, args);
    let returned = LOG.with(|l| l.borrow_mut().returns.pop()).flatten();
    let rendered = result?;
    Ok(returned.unwrap_or(rendered))
}

impl Object for MacroRef {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, minijinja::Error> {
        call_macro(state, &self.name, &self.imp, args)
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<macro {}>", self.name)
    }
}

/// A package's macros: `dbt_utils.star(...)`.
#[derive(Debug)]
struct Namespace {
    package: String,
    names: BTreeMap<String, String>,
}

impl Object for Namespace {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        self.names.get(name).map(|imp| Value::from_object(MacroRef { name: name.to_string(), imp: imp.clone() }))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.names.keys().map(|k| Value::from(k.as_str())).collect())
    }

    fn call_method(self: &Arc<Self>, state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        match self.names.get(method) {
            Some(imp) => call_macro(state, method, imp, args),
            None => Err(minijinja::Error::new(ErrorKind::UnknownFunction, format!("the package `{}` has no macro `{method}` here", self.package))),
        }
    }
}

/// `config(...)` records its arguments; `config.get(key, default)` answers them.
#[derive(Debug)]
struct MockConfig;

impl Object for MockConfig {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, minijinja::Error> {
        for arg in args {
            let Ok(json) = serde_json::to_value(arg) else { continue };
            if let serde_json::Value::Object(map) = json {
                LOG.with(|l| l.borrow_mut().config.extend(map));
            }
        }
        Ok(Value::from(""))
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "get" | "require" => {
                let key = args.first().map(|v| v.to_string()).unwrap_or_default();
                let found = LOG.with(|l| l.borrow().config.get(&key).cloned());
                Ok(match found {
                    Some(v) => json_value(&v),
                    None => args.get(1).cloned().unwrap_or(Value::from(())),
                })
            }
            "set" => Ok(Value::from("")),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("config has no method {method}"))),
        }
    }
}

/// `{% call statement('name', fetch_result=True) %} sql {% endcall %}`: records the SQL and keeps
/// a result for `load_result('name')`.
#[derive(Debug)]
struct MockStatement;

impl Object for MockStatement {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, minijinja::Error> {
        let name = args.first().filter(|a| !a.is_kwargs()).map(|v| v.to_string()).unwrap_or_else(|| "main".to_string());
        let caller = args.last().filter(|a| a.is_kwargs()).and_then(|a| Kwargs::try_from(a.clone()).ok()).and_then(|k| k.get::<Value>("caller").ok());
        let sql = match caller {
            Some(c) => c.call(state, &[])?.to_string(),
            None => String::new(),
        };
        let empty = answers_null(&sql);
        let cell = if empty { Value::from(()) } else { Value::from(TARGET_WATERMARK) };
        let result = Value::from_pairs([
            ("data", Value::from(vec![Value::from(vec![cell])])),
            ("table", Value::from_object(MockTable { empty })),
            ("response", Value::from("OK")),
        ]);
        LOG.with(|l| {
            let mut l = l.borrow_mut();
            l.queries.push(sql);
            l.results.insert(name, result);
        });
        Ok(Value::from(""))
    }
}

/// An agate table of one row and one column: the watermark (NULL on an empty target).
#[derive(Debug)]
struct MockTable {
    empty: bool,
}

impl MockTable {
    fn cell(&self) -> Value {
        if self.empty { Value::from(()) } else { Value::from(TARGET_WATERMARK) }
    }
}

impl Object for MockTable {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str() {
            Some("columns") => Some(Value::from(vec![Value::from_object(MockColumn { cell: self.cell() })])),
            Some("rows") => Some(Value::from(vec![Value::from(vec![self.cell()])])),
            Some("column_names") => Some(Value::from(vec![Value::from("watermark")])),
            _ => (key.as_usize() == Some(0)).then(|| Value::from(vec![self.cell()])),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(1)
    }
}

#[derive(Debug)]
struct MockColumn {
    cell: Value,
}

impl Object for MockColumn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (key.as_usize() == Some(0)).then(|| self.cell.clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(1)
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "values" => Ok(Value::from(vec![self.cell.clone()])),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("a column has no method {method}"))),
        }
    }
}

/// `run_started_at` and `modules.datetime.datetime.now()`: renders [`RUN_STARTED_AT`].
#[derive(Debug)]
struct Clock;

impl Object for Clock {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "strftime" => {
                let format = args.first().map(|v| v.to_string()).unwrap_or_default();
                Ok(Value::from(format.replace("%Y", "2024").replace("%m", "03").replace("%d", "05").replace("%H", "06").replace("%M", "00").replace("%S", "00")))
            }
            "isoformat" => Ok(Value::from(RUN_STARTED_AT.replace(' ', "T"))),
            "date" => Ok(Value::from(&RUN_STARTED_AT[..10])),
            "astimezone" | "replace" => Ok(Value::from_object(Clock)),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("the mock clock has no method {method}"))),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(RUN_STARTED_AT)
    }
}

/// `modules.datetime.datetime.now()` / `utcnow()` / `date.today()`.
#[derive(Debug)]
struct ClockFactory;

impl Object for ClockFactory {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "now" | "utcnow" | "today" => Ok(Value::from_object(Clock)),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("the mock datetime has no method {method}"))),
        }
    }
}

/// `adapter`: `dispatch` finds the macro dbt would pick for the dialect; the rest answers like a
/// warehouse that knows no columns.
#[derive(Debug)]
struct MockAdapter {
    dialect: &'static Dialect,
    namespaces: Arc<Vec<(String, BTreeMap<String, String>)>>,
}

impl Object for MockAdapter {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "dispatch" => {
                let name = args.first().map(|v| v.to_string()).unwrap_or_default();
                let namespace = args.get(1).filter(|a| !a.is_kwargs()).map(|v| v.to_string()).or_else(|| {
                    args.last().filter(|a| a.is_kwargs()).and_then(|a| Kwargs::try_from(a.clone()).ok()).and_then(|k| k.get::<Option<String>>("macro_namespace").ok().flatten())
                });
                let prefixes: Vec<String> = self.dialect.dispatch_prefixes().into_iter().map(str::to_string).chain(["default".to_string()]).collect();
                // The root project first (its overrides win), then the namespace, then the rest.
                let mut order: Vec<usize> = vec![1];
                if let Some(ns) = &namespace {
                    order.extend(self.namespaces.iter().position(|(p, _)| p == ns));
                }
                order.extend(0..self.namespaces.len());
                for prefix in &prefixes {
                    let wanted = format!("{prefix}__{name}");
                    for i in &order {
                        if let Some((_, names)) = self.namespaces.get(*i)
                            && let Some(imp) = names.get(&wanted)
                        {
                            return Ok(Value::from_object(MacroRef { name: wanted, imp: imp.clone() }));
                        }
                    }
                }
                for i in &order {
                    if let Some((_, names)) = self.namespaces.get(*i)
                        && let Some(imp) = names.get(&name)
                    {
                        return Ok(Value::from_object(MacroRef { name: name.clone(), imp: imp.clone() }));
                    }
                }
                Err(minijinja::Error::new(ErrorKind::UnknownFunction, format!("adapter.dispatch found no macro {name} (namespace {})", namespace.as_deref().unwrap_or("any"))))
            }
            "quote" => {
                let q = self.dialect.quote;
                Ok(Value::from(format!("{q}{}{q}", args.first().map(|v| v.to_string()).unwrap_or_default())))
            }
            "type" => Ok(Value::from(self.dialect.name)),
            "get_columns_in_relation" => Ok(Value::from(Vec::<Value>::new())),
            "get_relation" | "load_relation" => Ok(args.first().cloned().unwrap_or(Value::from(()))),
            "check_schema_exists" | "already_exists" => Ok(Value::from(true)),
            "has_dbr_capability" => Ok(Value::from(true)),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("the mock adapter has no method {method}"))),
        }
    }
}

/// `this` or `model`: a global every macro sees, answering for the model being rendered.
#[derive(Debug)]
struct Current(&'static str);

impl Current {
    fn value(&self) -> Value {
        LOG.with(|l| {
            let l = l.borrow();
            if self.0 == "this" { l.this.clone() } else { l.model.clone() }
        })
        .unwrap_or(Value::from(()))
    }
}

impl Object for Current {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.value().get_item(key).ok().filter(|v| !v.is_undefined())
    }

    fn call_method(self: &Arc<Self>, state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        self.value().call_method(state, method, args)
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value())
    }
}

/// `api.Relation.create(database, schema, identifier)`, by position or keyword.
#[derive(Debug)]
struct RelationApi;

impl Object for RelationApi {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "create" => {
                let positional: Vec<String> = args.iter().filter(|a| !a.is_kwargs()).map(|v| v.to_string()).collect();
                let kwargs = args.last().filter(|a| a.is_kwargs()).and_then(|a| Kwargs::try_from(a.clone()).ok());
                let named = |key: &str| kwargs.as_ref().and_then(|k| k.get::<Option<Value>>(key).ok().flatten()).map(|v| v.to_string());
                let schema = named("schema").or_else(|| positional.get(1).cloned()).unwrap_or_else(|| "analytics".to_string());
                let identifier = named("identifier").or_else(|| positional.get(2).cloned()).unwrap_or_default();
                Ok(MockRelation::value(&schema, &identifier))
            }
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("api.Relation has no method {method}"))),
        }
    }
}

/// `api.Column`: the type names dbt's column class translates.
#[derive(Debug)]
struct ColumnApi;

impl Object for ColumnApi {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        match method {
            "translate_type" => Ok(args.first().cloned().unwrap_or(Value::from("varchar"))),
            "string_type" => Ok(Value::from("varchar")),
            "numeric_type" => Ok(Value::from("numeric")),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("api.Column has no method {method}"))),
        }
    }
}

/// A list `{% do list.append(x) %}` can change, as in dbt's Jinja.
#[derive(Debug)]
struct MutableList {
    items: std::sync::Mutex<Vec<Value>>,
}

impl MutableList {
    fn new(items: Option<Value>) -> MutableList {
        let items = items.and_then(|v| v.try_iter().ok().map(|i| i.collect())).unwrap_or_default();
        MutableList { items: std::sync::Mutex::new(items) }
    }

    fn items(&self) -> Vec<Value> {
        self.items.lock().map(|i| i.clone()).unwrap_or_default()
    }
}

impl Object for MutableList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = self.items();
        let i = key.as_i64()?;
        let i = if i < 0 { items.len() as i64 + i } else { i };
        items.get(usize::try_from(i).ok()?).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items())
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        let mut items = self.items.lock().map_err(|_| minijinja::Error::new(ErrorKind::InvalidOperation, "list poisoned"))?;
        match method {
            "append" => items.extend(args.first().cloned()),
            "extend" => {
                if let Some(more) = args.first() {
                    items.extend(more.try_iter()?);
                }
            }
            "insert" => {
                if let (Some(at), Some(v)) = (args.first().and_then(Value::as_usize), args.get(1)) {
                    let at = at.min(items.len());
                    items.insert(at, v.clone());
                }
            }
            "pop" => return Ok(items.pop().unwrap_or(Value::from(()))),
            "remove" => {
                if let Some(at) = args.first().and_then(|v| items.iter().position(|i| i == v)) {
                    items.remove(at);
                }
            }
            "index" => return Ok(Value::from(args.first().and_then(|v| items.iter().position(|i| i == v)).unwrap_or(0))),
            "count" => return Ok(Value::from(args.first().map_or(0, |v| items.iter().filter(|i| *i == v).count()))),
            _ => return Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("a list has no method {method}"))),
        }
        Ok(Value::from(""))
    }
}

/// A dict `{% do d.update({...}) %}` can change, as in dbt's Jinja.
#[derive(Debug)]
struct MutableMap {
    items: std::sync::Mutex<Vec<(Value, Value)>>,
}

impl MutableMap {
    fn new(items: Option<Value>) -> MutableMap {
        let pairs = items.map(|v| pairs_of(&v)).unwrap_or_default();
        MutableMap { items: std::sync::Mutex::new(pairs) }
    }

    fn items(&self) -> Vec<(Value, Value)> {
        self.items.lock().map(|i| i.clone()).unwrap_or_default()
    }
}

/// The (key, value) pairs of a map value.
fn pairs_of(v: &Value) -> Vec<(Value, Value)> {
    v.try_iter().map(|keys| keys.map(|k| (k.clone(), v.get_item(&k).unwrap_or_default())).collect()).unwrap_or_default()
}

impl Object for MutableMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.items().into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items().into_iter().map(|(k, _)| k).collect())
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
        let mut items = self.items.lock().map_err(|_| minijinja::Error::new(ErrorKind::InvalidOperation, "dict poisoned"))?;
        let set = |items: &mut Vec<(Value, Value)>, k: Value, v: Value| match items.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => items.push((k, v)),
        };
        match method {
            "update" => {
                for arg in args {
                    for (k, v) in pairs_of(arg) {
                        set(&mut items, k, v);
                    }
                }
                Ok(Value::from(""))
            }
            "setdefault" => {
                let (Some(k), v) = (args.first(), args.get(1).cloned().unwrap_or(Value::from(()))) else { return Ok(Value::from(())) };
                if let Some((_, existing)) = items.iter().find(|(key, _)| key == k) {
                    return Ok(existing.clone());
                }
                set(&mut items, k.clone(), v.clone());
                Ok(v)
            }
            "pop" => {
                let at = args.first().and_then(|k| items.iter().position(|(key, _)| key == k));
                Ok(at.map(|i| items.remove(i).1).or_else(|| args.get(1).cloned()).unwrap_or(Value::from(())))
            }
            "get" => Ok(args.first().and_then(|k| items.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())).or_else(|| args.get(1).cloned()).unwrap_or(Value::from(()))),
            "items" => Ok(Value::from(items.iter().map(|(k, v)| Value::from(vec![k.clone(), v.clone()])).collect::<Vec<_>>())),
            "keys" => Ok(Value::from(items.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())),
            "values" => Ok(Value::from(items.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>())),
            _ => Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("a dict has no method {method}"))),
        }
    }
}

/// The Python methods dbt's Jinja has on strings, dicts and lists, that minijinja lacks.
fn python_methods(_state: &mut State<'_, '_>, value: &Value, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
    let arg = |i: usize| args.get(i).map(|v| v.to_string()).unwrap_or_default();
    let unknown = || Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("{} has no method {method}", value.kind())));
    if let Some(s) = value.as_str() {
        return Ok(match method {
            "lower" => Value::from(s.to_lowercase()),
            "upper" => Value::from(s.to_uppercase()),
            "strip" if args.is_empty() => Value::from(s.trim()),
            "strip" => Value::from(s.trim_matches(|c| arg(0).contains(c))),
            "lstrip" => Value::from(s.trim_start()),
            "rstrip" => Value::from(s.trim_end()),
            "title" | "capitalize" => Value::from(s.to_string()),
            "split" if args.is_empty() => Value::from(s.split_whitespace().map(Value::from).collect::<Vec<_>>()),
            "split" => Value::from(s.split(arg(0).as_str()).map(Value::from).collect::<Vec<_>>()),
            "replace" => Value::from(s.replace(arg(0).as_str(), &arg(1))),
            "startswith" => Value::from(s.starts_with(arg(0).as_str())),
            "endswith" => Value::from(s.ends_with(arg(0).as_str())),
            "find" => Value::from(s.find(arg(0).as_str()).map_or(-1, |p| p as i64)),
            "count" => Value::from(s.matches(arg(0).as_str()).count()),
            "join" => Value::from(args.first().and_then(|v| v.try_iter().ok()).map(|i| i.map(|v| v.to_string()).collect::<Vec<_>>().join(s)).unwrap_or_default()),
            "format" => {
                let mut out = s.to_string();
                for a in args {
                    if let Some(p) = out.find("{}") {
                        out.replace_range(p..p + 2, &a.to_string());
                    }
                }
                Value::from(out)
            }
            "isdigit" => Value::from(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())),
            _ => return unknown(),
        });
    }
    match (value.kind(), method) {
        (minijinja::value::ValueKind::Map, "get") => {
            let got = value.get_item(args.first().unwrap_or(&Value::from(())))?;
            Ok(if got.is_undefined() { args.get(1).cloned().unwrap_or(Value::from(())) } else { got })
        }
        (minijinja::value::ValueKind::Map, "items") => Ok(Value::from(value.try_iter()?.map(|k| Value::from(vec![k.clone(), value.get_item(&k).unwrap_or_default()])).collect::<Vec<_>>())),
        (minijinja::value::ValueKind::Map, "keys") => Ok(Value::from(value.try_iter()?.collect::<Vec<_>>())),
        (minijinja::value::ValueKind::Map, "values") => Ok(Value::from(value.try_iter()?.map(|k| value.get_item(&k).unwrap_or_default()).collect::<Vec<_>>())),
        (minijinja::value::ValueKind::Map, "copy") | (minijinja::value::ValueKind::Seq, "copy") => Ok(value.clone()),
        (minijinja::value::ValueKind::Seq, "index") => Ok(Value::from(value.try_iter()?.position(|v| Some(&v) == args.first()).unwrap_or(0))),
        (minijinja::value::ValueKind::Seq, "count") => Ok(Value::from(value.try_iter()?.filter(|v| Some(v) == args.first()).count())),
        (minijinja::value::ValueKind::Seq, "append" | "extend") => {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, "a list built outside `{% set x = [...] %}` cannot be changed by the offline renderer"))
        }
        _ => unknown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_lines_outside_jinja_and_strings() {
        let text = "{{ config(\n  materialized='incremental'\n) }}\nselect 'a\nb' as x\nfrom t -- it's\nwhere 1 = 1";
        let marked = mark_lines(text);
        assert_eq!(marked, "/*@L1*/{{ config(\n  materialized='incremental'\n) }}\n/*@L4*/select 'a\nb' as x\n/*@L6*/from t -- it's\n/*@L7*/where 1 = 1");
        assert_eq!(source_line(&marked, marked.find("from").unwrap()), Some(6));
        assert_eq!(mark_lines("{{ config(post_hook='{{ x }}',\n a=\"}}\") }}\nselect 1"), "/*@L1*/{{ config(post_hook='{{ x }}',\n a=\"}}\") }}\n/*@L3*/select 1");
    }

    #[test]
    fn prepares_dbt_jinja() {
        assert_eq!(prepare("{% set cols = [] %}{%- set d = {'a': 1} -%}{% set x = y %}"), "{% set cols = __dbtincr_list([]) %}{%- set d = __dbtincr_dict({'a': 1}) -%}{% set x = y %}");
        assert_eq!(prepare("a{% materialization incremental, default %}x{% endmaterialization %}b"), "ab");
        assert_eq!(prepare("a\n{% ########## %}\nb"), "a\n\nb");
        let (renamed, names) = rename_macros("{% macro f(a) %}{% endmacro %}{%- macro default__g() -%}{%- endmacro %}", 2);
        assert_eq!(names, ["f", "default__g"]);
        assert!(renamed.contains("macro dbtincr_p2__f(") && renamed.contains("macro dbtincr_p2__default__g("));
    }

    #[test]
    fn renders_with_macros_return_and_dispatch() {
        let dialect = Dialect::find("postgres").unwrap();
        let files = vec![MacroFile {
            package: "p".into(),
            path: "macros/m.sql".into(),
            text: "{% macro window(c) %}{{ return(adapter.dispatch('window', 'p')(c)) }}{% endmacro %}{% macro default__window(c) %}{{ c }} > 1{% endmacro %}{% macro postgres__window(c) %}{{ c }} > 2{% endmacro %}".into(),
        }];
        let renderer = Renderer::new("p", &[("p".into(), files)], dialect, &serde_json::Value::Null);
        let config = serde_json::Map::new();
        let input = Input { name: "m", text: "select * from {{ ref('a') }}{% if is_incremental() %} where {{ window('x') }}{% endif %}", config: &config };
        let full = renderer.render(&input, Mode::FullRefresh).unwrap();
        let inc = renderer.render(&input, Mode::Incremental).unwrap();
        assert!(!full.sql.contains("where"));
        assert!(inc.sql.contains("where x > 2"), "{}", inc.sql);
        assert!(inc.relations.contains_key("dbt_ref.a"));
    }
}
