//! The rendered SQL of a model, parsed with sqlparser in the project's dialect, and reduced to
//! what the rules read: every SELECT (a scope) with the relations it reads, its predicates (the
//! conjuncts of WHERE, JOIN ON, HAVING and QUALIFY), its window functions, aggregates and
//! projection. Comparing the scopes of the full-refresh and incremental renderings gives the
//! incremental filter: the predicates only the incremental rendering has.

use sqlparser::ast::{
    BinaryOperator, Distinct, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, InTarget, JoinConstraint, JoinOperator, ObjectName, Query, Select, SelectItem, SetExpr, Spanned, Statement,
    TableFactor, WindowType,
};
use sqlparser::dialect::Dialect as SqlDialect;
use sqlparser::parser::Parser;

use super::rendering::{REF_SCHEMA, RUN_STARTED_AT, THIS_SCHEMA, TARGET_WATERMARK, source_line};

/// The sqlparser dialect that reads a warehouse's SQL (a structure check: parsers accept SQL some
/// warehouses reject, see docs/dialects/). `None` for a name dbt-incr does not know.
pub fn sqlparser_dialect(warehouse: &str) -> Option<Box<dyn SqlDialect>> {
    let name = match warehouse {
        "athena" | "trino" => "generic",
        "bigquery" => "bigquery",
        "clickhouse" => "clickhouse",
        "databricks" | "spark" => "databricks",
        "duckdb" => "duckdb",
        "postgres" => "postgresql",
        "redshift" => "redshift",
        "snowflake" => "snowflake",
        "sqlserver" => "mssql",
        _ => return None,
    };
    sqlparser::dialect::dialect_from_str(name)
}

/// Which clause a predicate is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clause {
    Where,
    On,
    Having,
    Qualify,
}

/// One conjunct of a scope's filters.
#[derive(Debug, Clone)]
pub struct Pred {
    /// As sqlparser prints it, lowercase: the same predicate prints the same in both renderings.
    pub text: String,
    pub expr: Expr,
    pub clause: Clause,
    /// The model line it comes from.
    pub line: Option<usize>,
}

/// A window function call.
#[derive(Debug, Clone)]
pub struct Window {
    pub func: String,
    /// The arguments, as printed.
    pub args: String,
    pub partition: Vec<String>,
    pub order: Vec<String>,
    pub line: Option<usize>,
}

/// A projected column.
#[derive(Debug, Clone)]
pub struct Projected {
    /// The output name (alias, else the column's own name).
    pub name: Option<String>,
    /// The column it copies, when it is a plain column.
    pub column: Option<String>,
    /// Columns the expression reads.
    pub reads: Vec<String>,
}

/// One SELECT.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The enclosing scope, and whether this one is a derived table in its FROM.
    pub parent: Option<(usize, bool)>,
    /// The CTE this scope is the body of (the top SELECT of it).
    pub cte: Option<String>,
    /// Relations read in FROM/JOIN, lowercase, as rendered (`dbt_ref.stg`, a CTE's name).
    pub reads: Vec<String>,
    /// Derived tables in FROM: their scopes.
    pub derived: Vec<usize>,
    pub joins: usize,
    pub preds: Vec<Pred>,
    pub windows: Vec<Window>,
    /// Aggregate functions in the projection and HAVING: name and argument, as printed.
    pub aggregates: Vec<(String, String)>,
    pub group_by: Vec<String>,
    pub projection: Vec<Projected>,
    pub wildcard: bool,
    pub distinct: bool,
    pub distinct_on: bool,
    pub set_operation: bool,
    pub line: Option<usize>,
}

/// A parsed rendering.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub scopes: Vec<Scope>,
    /// CTE name (lowercase) -> the scope of its body's first SELECT.
    pub ctes: Vec<(String, usize)>,
}

const AGGREGATES: &[&str] = &[
    "sum", "count", "avg", "min", "max", "array_agg", "string_agg", "listagg", "count_if", "countif", "approx_count_distinct", "any_value", "median", "stddev", "variance", "group_concat", "collect_list",
    "collect_set", "bool_or", "bool_and", "logical_or", "logical_and", "arg_max", "arg_min", "max_by", "min_by", "sumif", "uniq", "uniqexact", "groupuniqarray", "grouparray",
];

/// Parses `sql` (one SELECT, possibly with CTEs) as `dialect`. The error says why not.
pub fn parse(sql: &str, dialect: &dyn SqlDialect) -> Result<Parsed, String> {
    let statements = Parser::parse_sql(dialect, sql).map_err(|e| e.to_string())?;
    let query = match statements.as_slice() {
        [Statement::Query(q)] => q,
        [] => return Err("it renders no SQL".to_string()),
        [_] => return Err("it renders a statement that is not a SELECT".to_string()),
        _ => return Err(format!("it renders {} statements, not one SELECT", statements.len())),
    };
    let mut walker = Walker { sql, lines: line_starts(sql), out: Parsed::default() };
    walker.query(query, None, None);
    Ok(walker.out)
}

fn line_starts(sql: &str) -> Vec<usize> {
    std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

struct Walker<'a> {
    sql: &'a str,
    lines: Vec<usize>,
    out: Parsed,
}

impl Walker<'_> {
    /// The model line of a rendered position.
    fn line_of(&self, span: sqlparser::tokenizer::Span) -> Option<usize> {
        let (line, column) = (span.start.line as usize, span.start.column as usize);
        if line == 0 {
            return None;
        }
        let start = *self.lines.get(line - 1)?;
        let offset = self.sql[start..].char_indices().nth(column.saturating_sub(1)).map_or(self.sql.len(), |(i, _)| start + i);
        source_line(self.sql, offset)
    }

    fn query(&mut self, q: &Query, parent: Option<(usize, bool)>, cte: Option<String>) -> Option<usize> {
        if let Some(with) = &q.with {
            for c in &with.cte_tables {
                let name = c.alias.name.value.to_ascii_lowercase();
                if let Some(scope) = self.query(&c.query, None, Some(name.clone())) {
                    self.out.ctes.push((name, scope));
                }
            }
        }
        self.set_expr(&q.body, parent, cte)
    }

    fn set_expr(&mut self, body: &SetExpr, parent: Option<(usize, bool)>, cte: Option<String>) -> Option<usize> {
        match body {
            SetExpr::Select(s) => Some(self.select(s, parent, cte)),
            SetExpr::Query(q) => self.query(q, parent, cte),
            SetExpr::SetOperation { left, right, .. } => {
                let first = self.set_expr(left, parent, cte.clone());
                let second = self.set_expr(right, parent, cte);
                for s in [first, second].into_iter().flatten() {
                    self.out.scopes[s].set_operation = true;
                }
                first
            }
            _ => None,
        }
    }

    fn select(&mut self, s: &Select, parent: Option<(usize, bool)>, cte: Option<String>) -> usize {
        let index = self.out.scopes.len();
        let line = self.line_of(s.select_token.0.span);
        self.out.scopes.push(Scope { parent, cte, line, ..Scope::default() });
        for t in &s.from {
            self.table_factor(&t.relation, index);
            for j in &t.joins {
                self.out.scopes[index].joins += 1;
                self.table_factor(&j.relation, index);
                if let Some(JoinConstraint::On(on)) = join_constraint(&j.join_operator) {
                    self.preds(on, Clause::On, index);
                }
            }
        }
        if let Some(w) = &s.selection {
            self.preds(w, Clause::Where, index);
        }
        if let Some(h) = &s.having {
            self.preds(h, Clause::Having, index);
        }
        if let Some(q) = &s.qualify {
            self.preds(q, Clause::Qualify, index);
        }
        match &s.distinct {
            Some(Distinct::Distinct) => self.out.scopes[index].distinct = true,
            Some(Distinct::On(_)) => self.out.scopes[index].distinct_on = true,
            _ => {}
        }
        if let GroupByExpr::Expressions(exprs, _) = &s.group_by {
            let group: Vec<String> = exprs.iter().map(|e| self.group_term(e, s)).collect();
            self.out.scopes[index].group_by = group;
        } else if matches!(s.group_by, GroupByExpr::All(_)) {
            self.out.scopes[index].group_by = vec!["all".into()];
        }
        for item in &s.projection {
            let (expr, alias) = match item {
                SelectItem::UnnamedExpr(e) => (e, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.to_ascii_lowercase())),
                _ => {
                    self.out.scopes[index].wildcard = true;
                    continue;
                }
            };
            let column = plain_column(expr);
            let mut reads = Vec::new();
            columns_in(expr, &mut reads);
            self.out.scopes[index].projection.push(Projected { name: alias.or_else(|| column.clone()), column, reads });
            self.expr(expr, index);
        }
        if let Some(h) = &s.having {
            self.expr(h, index);
        }
        index
    }

    /// A GROUP BY term; `group by 1` is the first projected expression.
    fn group_term(&self, e: &Expr, s: &Select) -> String {
        if let Expr::Value(v) = e
            && let Ok(n) = v.value.to_string().parse::<usize>()
            && let Some(item) = s.projection.get(n.wrapping_sub(1))
        {
            return match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e.to_string().to_ascii_lowercase(),
                other => other.to_string().to_ascii_lowercase(),
            };
        }
        e.to_string().to_ascii_lowercase()
    }

    fn table_factor(&mut self, t: &TableFactor, scope: usize) {
        match t {
            TableFactor::Table { name, .. } => self.out.scopes[scope].reads.push(object_name(name)),
            TableFactor::Derived { subquery, .. } => {
                if let Some(child) = self.query(subquery, Some((scope, true)), None) {
                    self.out.scopes[scope].derived.push(child);
                }
            }
            TableFactor::NestedJoin { table_with_joins, .. } => {
                self.table_factor(&table_with_joins.relation, scope);
                for j in &table_with_joins.joins {
                    self.out.scopes[scope].joins += 1;
                    self.table_factor(&j.relation, scope);
                    if let Some(JoinConstraint::On(on)) = join_constraint(&j.join_operator) {
                        self.preds(on, Clause::On, scope);
                    }
                }
            }
            _ => {}
        }
    }

    /// Splits `e` on AND into predicates of `scope`, then walks it for windows and subqueries.
    fn preds(&mut self, e: &Expr, clause: Clause, scope: usize) {
        let mut conjuncts = Vec::new();
        split_and(e, &mut conjuncts);
        for c in conjuncts {
            // The first column's span: some nodes' spans are empty or start at the statement.
            let line = first_ident_span(c).and_then(|sp| self.line_of(sp)).or_else(|| self.line_of(c.span()));
            self.out.scopes[scope].preds.push(Pred { text: c.to_string().to_ascii_lowercase(), expr: c.clone(), clause, line });
        }
        self.expr(e, scope);
    }

    /// Walks an expression: window functions and aggregates of `scope`, and subqueries as scopes
    /// of their own.
    fn expr(&mut self, e: &Expr, scope: usize) {
        match e {
            Expr::Function(f) => {
                let name = f.name.to_string().to_ascii_lowercase();
                let args = match &f.args {
                    FunctionArguments::List(list) => list.args.iter().map(|a| a.to_string().to_ascii_lowercase()).collect::<Vec<_>>().join(", "),
                    _ => String::new(),
                };
                if let Some(WindowType::WindowSpec(w)) = &f.over {
                    let line = self.line_of(f.name.span());
                    self.out.scopes[scope].windows.push(Window {
                        func: name,
                        args,
                        partition: w.partition_by.iter().map(|p| p.to_string().to_ascii_lowercase()).collect(),
                        order: w.order_by.iter().map(|o| o.expr.to_string().to_ascii_lowercase()).collect(),
                        line,
                    });
                } else if f.over.is_none() && AGGREGATES.contains(&name.as_str()) {
                    self.out.scopes[scope].aggregates.push((name, args));
                }
                match &f.args {
                    FunctionArguments::List(list) => {
                        for a in &list.args {
                            if let Some(e) = arg_expr(a) {
                                self.expr(e, scope);
                            }
                        }
                    }
                    FunctionArguments::Subquery(q) => {
                        self.query(q, Some((scope, false)), None);
                    }
                    FunctionArguments::None => {}
                }
            }
            Expr::Subquery(q) | Expr::Exists { subquery: q, .. } => {
                self.query(q, Some((scope, false)), None);
            }
            Expr::In { expr, target: InTarget::Subquery(subquery), .. } => {
                self.expr(expr, scope);
                self.query(subquery, Some((scope, false)), None);
            }
            _ => {
                for child in children(e) {
                    self.expr(child, scope);
                }
            }
        }
    }
}

fn join_constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c) => Some(c),
        _ => None,
    }
}

fn arg_expr(a: &FunctionArg) -> Option<&Expr> {
    match a {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) | FunctionArg::Named { arg: FunctionArgExpr::Expr(e), .. } | FunctionArg::ExprNamed { arg: FunctionArgExpr::Expr(e), .. } => Some(e),
        _ => None,
    }
}

/// The direct sub-expressions of `e` (not subqueries).
pub fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp { left, right, .. } => vec![left, right],
        Expr::UnaryOp { expr, .. } | Expr::Nested(expr) | Expr::IsNull(expr) | Expr::IsNotNull(expr) | Expr::IsTrue(expr) | Expr::IsFalse(expr) | Expr::Cast { expr, .. } => vec![expr],
        Expr::AtTimeZone { timestamp, time_zone } => vec![timestamp, time_zone],
        Expr::Extract { expr, .. } | Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } | Expr::Collate { expr, .. } => vec![expr],
        Expr::Between { expr, low, high, .. } => vec![expr, low, high],
        Expr::In { expr, target: InTarget::List(list), .. } => std::iter::once(expr.as_ref()).chain(list.iter()).collect(),
        Expr::In { expr, .. } => vec![expr],
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => vec![expr, pattern],
        Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => vec![a, b],
        Expr::Case { operand, conditions, else_result, .. } => operand.iter().map(|o| o.as_ref()).chain(conditions.iter().flat_map(|c| [&c.condition, &c.result])).chain(else_result.iter().map(|e| e.as_ref())).collect(),
        Expr::Function(f) => match &f.args {
            FunctionArguments::List(list) => list.args.iter().filter_map(arg_expr).collect(),
            _ => Vec::new(),
        },
        Expr::Interval(i) => vec![&i.value],
        Expr::Tuple(items) => items.iter().collect(),
        _ => Vec::new(),
    }
}

/// The span of the first identifier in `e` (outside subqueries) that has one.
fn first_ident_span(e: &Expr) -> Option<sqlparser::tokenizer::Span> {
    match e {
        Expr::Identifier(i) if i.span.start.line > 0 => Some(i.span),
        Expr::CompoundIdentifier(parts) => parts.iter().map(|i| i.span).find(|s| s.start.line > 0),
        _ => children(e).into_iter().find_map(first_ident_span),
    }
}

fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            split_and(left, out);
            split_and(right, out);
        }
        Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: BinaryOperator::And, .. }) => split_and(inner, out),
        other => out.push(other),
    }
}

fn object_name(name: &ObjectName) -> String {
    name.0.iter().map(|p| p.to_string().trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']').to_string()).collect::<Vec<_>>().join(".").to_ascii_lowercase()
}

/// The column `e` is, when it is a plain column (`t.col` -> `col`).
pub fn plain_column(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.to_ascii_lowercase()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.to_ascii_lowercase()),
        Expr::Nested(inner) => plain_column(inner),
        _ => None,
    }
}

/// Every column `e` reads outside subqueries (`t.col` -> `col`).
pub fn columns_in(e: &Expr, out: &mut Vec<String>) {
    if let Some(c) = plain_column(e) {
        if !out.contains(&c) {
            out.push(c);
        }
        return;
    }
    for child in children(e) {
        columns_in(child, out);
    }
}

/// The column under casts and truncations (`date(cast(x as date))` -> `x`), and whether it was
/// truncated to a date or coarser.
pub fn underlying_column(e: &Expr) -> Option<(String, bool)> {
    match e {
        Expr::Cast { expr, data_type, .. } => underlying_column(expr).map(|(c, t)| (c, t || data_type.to_string().eq_ignore_ascii_case("date"))),
        Expr::Nested(inner) | Expr::AtTimeZone { timestamp: inner, .. } => underlying_column(inner),
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            let args: Vec<&Expr> = children(e);
            let column = args.iter().filter_map(|a| underlying_column(a)).next()?;
            let truncating = matches!(name.as_str(), "date" | "to_date" | "date_trunc" | "timestamp_trunc" | "datetime_trunc" | "trunc" | "todate" | "tostartofday" | "date_format");
            Some((column.0, column.1 || truncating))
        }
        _ => plain_column(e).map(|c| (c, false)),
    }
}

/// What a bound is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    /// The target's own rows: a subquery on `{{ this }}`, or a watermark read from it in Jinja.
    Target,
    /// The clock: `current_date`, `now()`, `run_started_at`.
    Clock,
    /// Anything else (a literal, a var, another table).
    Other,
}

/// A range predicate of the incremental filter: `column >(=) bound`.
#[derive(Debug, Clone)]
pub struct Range {
    pub column: String,
    /// The column is truncated to a date (or coarser) before the comparison.
    pub truncated: bool,
    pub bound: String,
    pub against: Against,
    /// The bound starts before the watermark (an interval or an amount subtracted).
    pub lookback: bool,
    /// Where the lookback is written: the bound, or the watermark query run in Jinja.
    pub lookback_text: String,
    /// A bare max() with no coalesce().
    pub bare_max: bool,
    pub clause: Clause,
    pub line: Option<usize>,
    pub scope: usize,
}

const CLOCK_WORDS: &[&str] = &["current_date", "current_timestamp", "now()", "getdate()", "sysdate", "today()", "systimestamp", "localtimestamp", "current_datetime", "sysdatetime", "getutcdate", "unix_timestamp()"];
const SUBTRACTING: &[&str] = &["date_sub(", "timestamp_sub(", "datetime_sub(", "subtractdays(", "subtracthours(", "subtractminutes(", "date_add(", "dateadd(", "timestampadd(", "timestamp_add(", "adddays(", "addhours(", "datetime_add(", "add_months("];
const FALLBACKS: &[&str] = &["coalesce(", "ifnull(", "nvl(", "isnull(", "zeroifnull(", "nvl2("];

/// Whether `text` (a bound, or a watermark query) reaches back before the value it starts from.
pub fn has_lookback(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    if t.contains(" - ") || t.contains("interval '-") || t.contains("interval -") {
        return true;
    }
    SUBTRACTING.iter().any(|f| {
        t.match_indices(f).any(|(i, _)| {
            let rest = &t[i + f.len()..];
            // the `_sub` forms subtract; the `add` forms subtract a negative amount.
            f.contains("sub") || f.contains("subtract") || rest.split(')').next().is_some_and(|args| args.contains('-'))
        })
    })
}

/// A rendered SQL fragment as the user wrote it, for a message: `{{ this }}` and `ref()` for the
/// mock's names, `<watermark>` for the mock's answer, cut at 100 characters.
pub fn shown(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(&format!("{THIS_SCHEMA}.")) {
        out.push_str(&rest[..at]);
        out.push_str("{{ this }}");
        let after = &rest[at + THIS_SCHEMA.len() + 1..];
        rest = after.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
    }
    out.push_str(rest);
    let out = out.replace(TARGET_WATERMARK, "<watermark>").replace(&format!("{REF_SCHEMA}."), "");
    if out.chars().count() > 100 { format!("{}…", out.chars().take(99).collect::<String>()) } else { out }
}

/// Whether a bound is the target's newest value of a coarser column (`max(received_at_date)` for
/// a filter on `received_at`): the window then starts at the period's beginning, re-reading it
/// whole.
fn day_aligned(bound: &str, column: &str) -> bool {
    bound.match_indices("max(").any(|(i, _)| {
        let arg: String = bound[i + 4..].chars().take_while(|c| *c != ')').collect();
        let arg = arg.rsplit('.').next().unwrap_or("").trim();
        arg != column && (arg.contains("date") || arg.contains("day") || arg.starts_with(column))
    }) || bound.contains("max(") && (bound.contains(" as date") || bound.contains("date_trunc(") || bound.starts_with("date("))
}

/// Range predicates among `preds`: `col > bound`, `col >= bound`, `bound < col`, `col between`.
pub fn ranges(preds: &[(usize, &Pred)], queries: &[String]) -> Vec<Range> {
    let target_query = queries.iter().any(|q| q.to_ascii_lowercase().contains(&format!("{THIS_SCHEMA}.")));
    let watermark_lookback = queries.iter().map(|q| q.to_ascii_lowercase()).find(|q| q.contains(&format!("{THIS_SCHEMA}.")) && has_lookback(q));
    let mut out = Vec::new();
    for (scope, p) in preds {
        let sides = match &p.expr {
            Expr::BinaryOp { left, op: BinaryOperator::Gt | BinaryOperator::GtEq, right } => Some((left.as_ref(), right.as_ref())),
            Expr::BinaryOp { left, op: BinaryOperator::Lt | BinaryOperator::LtEq, right } => Some((right.as_ref(), left.as_ref())),
            Expr::Between { expr, low, negated: false, .. } => Some((expr.as_ref(), low.as_ref())),
            _ => None,
        };
        let Some((col_side, bound)) = sides else { continue };
        let Some((column, truncated)) = underlying_column(col_side) else { continue };
        let bound_text = bound.to_string().to_ascii_lowercase();
        let on_target = bound_text.contains(&format!("{THIS_SCHEMA}."));
        let watermark_literal = bound_text.contains(TARGET_WATERMARK) && target_query;
        let against = if on_target || watermark_literal {
            Against::Target
        } else if CLOCK_WORDS.iter().any(|w| bound_text.contains(w)) || bound_text.contains(&RUN_STARTED_AT[..10]) {
            Against::Clock
        } else {
            Against::Other
        };
        let (lookback, lookback_text) = match (&watermark_lookback, has_lookback(&bound_text) || day_aligned(&bound_text, &column)) {
            (_, true) => (true, bound_text.clone()),
            (Some(q), false) if watermark_literal => (true, q.clone()),
            _ => (false, String::new()),
        };
        let bare_max = on_target && bound_text.contains("max(") && !FALLBACKS.iter().any(|f| bound_text.contains(f));
        out.push(Range { column, truncated, bound: bound_text, against, lookback, lookback_text, bare_max, clause: p.clause, line: p.line, scope: *scope });
    }
    out
}

impl Parsed {
    /// Every predicate with its scope.
    pub fn preds(&self) -> Vec<(usize, &Pred)> {
        self.scopes.iter().enumerate().flat_map(|(i, s)| s.preds.iter().map(move |p| (i, p))).collect()
    }

    /// The predicates of `self` that `other` lacks (as a multiset of their printed text).
    pub fn preds_not_in<'a>(&'a self, other: &Parsed) -> Vec<(usize, &'a Pred)> {
        let mut theirs: Vec<&str> = other.preds().iter().map(|(_, p)| p.text.as_str()).collect();
        let mut out = Vec::new();
        for (scope, p) in self.preds() {
            match theirs.iter().position(|t| *t == p.text) {
                Some(i) => {
                    theirs.swap_remove(i);
                }
                None => out.push((scope, p)),
            }
        }
        out
    }

    /// The predicates both renderings have.
    pub fn preds_also_in<'a>(&'a self, other: &Parsed) -> Vec<(usize, &'a Pred)> {
        let mut theirs: Vec<&str> = other.preds().iter().map(|(_, p)| p.text.as_str()).collect();
        let mut out = Vec::new();
        for (scope, p) in self.preds() {
            if let Some(i) = theirs.iter().position(|t| *t == p.text) {
                theirs.swap_remove(i);
                out.push((scope, p));
            }
        }
        out
    }

    /// The scope of a CTE.
    pub fn cte(&self, name: &str) -> Option<usize> {
        self.ctes.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }

    /// The scopes whose rows come from `scope`: itself, the scopes it is a derived table of, and
    /// the scopes reading the CTE it belongs to; transitively.
    pub fn downstream(&self, scope: usize) -> Vec<usize> {
        let mut out = vec![scope];
        let mut i = 0;
        while i < out.len() {
            let s = out[i];
            let mut next = Vec::new();
            if let Some((parent, true)) = self.scopes[s].parent {
                next.push(parent);
            }
            if let Some(name) = self.cte_of(s) {
                for (j, other) in self.scopes.iter().enumerate() {
                    if other.reads.contains(&name) {
                        next.push(j);
                    }
                }
            }
            for n in next {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            i += 1;
        }
        out
    }

    /// Whether `scope` also bounds `column` from above (`col < …`, `between`): a fixed slice such
    /// as today's rows, not an everything-since window.
    pub fn upper_bounded(&self, scope: usize, column: &str) -> bool {
        self.scopes[scope].preds.iter().any(|p| {
            let col_side = match &p.expr {
                Expr::BinaryOp { left, op: BinaryOperator::Lt | BinaryOperator::LtEq, .. } => Some(left.as_ref()),
                Expr::BinaryOp { op: BinaryOperator::Gt | BinaryOperator::GtEq, right, .. } => Some(right.as_ref()),
                Expr::Between { expr, negated: false, .. } => Some(expr.as_ref()),
                _ => None,
            };
            col_side.and_then(underlying_column).is_some_and(|(c, _)| c == column)
        })
    }

    /// Whether a scope's rows can reach the result: it is in no CTE, or its CTE is read (a CTE
    /// only an `is_incremental()` branch reads is dead in the full refresh).
    pub fn is_live(&self, scope: usize) -> bool {
        match self.cte_of(scope) {
            None => true,
            Some(name) => self.scopes.iter().enumerate().any(|(i, s)| self.cte_of(i).as_deref() != Some(name.as_str()) && s.reads.contains(&name)),
        }
    }

    /// The CTE a scope is part of (its own, or an enclosing scope's).
    fn cte_of(&self, mut scope: usize) -> Option<String> {
        loop {
            if let Some(c) = &self.scopes[scope].cte {
                return Some(c.clone());
            }
            scope = self.scopes[scope].parent?.0;
        }
    }

    /// The relations (not CTEs, not the target) a scope reads, through CTEs and derived tables.
    pub fn inputs(&self, scope: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![scope];
        let mut seen = Vec::new();
        while let Some(s) = stack.pop() {
            if seen.contains(&s) {
                continue;
            }
            seen.push(s);
            stack.extend(self.scopes[s].derived.iter().copied());
            for r in &self.scopes[s].reads {
                match self.cte(r) {
                    Some(c) => stack.extend(self.scopes.iter().enumerate().filter(|(i, sc)| *i == c || sc.cte.as_deref() == Some(r.as_str())).map(|(i, _)| i)),
                    None if !r.starts_with(&format!("{THIS_SCHEMA}.")) && !out.contains(r) => out.push(r.clone()),
                    None => {}
                }
            }
        }
        out
    }

    /// Whether any scope reduces rows to one per `key`: row_number()/rank() partitioned by it and
    /// filtered, QUALIFY, DISTINCT ON, or a GROUP BY on it.
    pub fn deduplicates(&self, key: &[String]) -> bool {
        let covers = |terms: &[String]| !key.is_empty() && key.iter().all(|k| terms.iter().any(|t| t == k || t.ends_with(&format!(".{k}"))));
        self.scopes.iter().any(|s| {
            s.distinct_on
                || s.distinct
                || s.preds.iter().any(|p| p.clause == Clause::Qualify)
                || covers(&s.group_by)
                || s.windows.iter().any(|w| matches!(w.func.as_str(), "row_number" | "rank" | "dense_rank") && (covers(&w.partition) || key.is_empty()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_incremental_filter_is_what_the_incremental_rendering_adds() {
        let dialect = sqlparser_dialect("duckdb").unwrap();
        let full = parse("/*@L1*/select * from raw.events\n/*@L2*/where event_at >= '2020-01-01'", dialect.as_ref()).unwrap();
        let inc = parse("/*@L1*/select * from raw.events\n/*@L3*/where cast(_loaded_at as date) > (select max(_loaded_at) - interval '3 days' from dbt_this.m)", dialect.as_ref()).unwrap();
        let added = inc.preds_not_in(&full);
        let r = ranges(&added, &[]);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].column.as_str(), r[0].truncated, r[0].against, r[0].lookback, r[0].bare_max, r[0].line), ("_loaded_at", true, Against::Target, true, true, Some(3)));
    }

    #[test]
    fn lookbacks() {
        assert!(has_lookback("max(x) - interval '3 days'"));
        assert!(has_lookback("dateadd(day, -3, max(x))"));
        assert!(has_lookback("timestamp_sub(max(x), interval 2 day)"));
        assert!(!has_lookback("dateadd(day, 3, max(x))"));
        assert!(!has_lookback("(select max(x) from t)"));
        assert!(day_aligned("(select max(received_at_date) from t)", "received_at"));
        assert!(!day_aligned("(select max(received_at) from t)", "received_at"));
    }
}
