//! `dbt-incr schema`: the JSON Schema of the spec, for editors.

pub fn run() {
    print!("{}", crate::spec::schema::schema_text());
}
