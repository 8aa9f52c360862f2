//! SQL text built with numbered parameters (`$1`, `$2`, ...: both Postgres
//! and sqlx's SQLite driver take them) and the values bound to them.

use sqlx::any::{Any, AnyArguments};
use sqlx::query::{Query, QueryScalar};

/// A value bound to a parameter.
#[derive(Debug)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<i64> for Arg {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}

/// The columns of a row and their values, derived from an entity.
pub(crate) type Row = Vec<(&'static str, Arg)>;

/// A statement under construction.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// `INSERT INTO table (columns) VALUES (values)`.
    pub(crate) fn insert(table: &str, row: Row) -> Self {
        let columns: Vec<&str> = row.iter().map(|(c, _)| *c).collect();
        let mut sql = Self::new(&format!(
            "INSERT INTO {table} ({}) VALUES (",
            columns.join(", ")
        ));
        let params: Vec<String> = row.into_iter().map(|(_, v)| sql.arg(v)).collect();
        sql.push(&params.join(", ")).push(")");
        sql
    }

    /// `UPDATE table SET row WHERE id = id AND revision = revision`: the
    /// compare-and-set of a row carrying a revision.
    pub(crate) fn compare_and_set(table: &str, row: Row, id: String, revision: i64) -> Self {
        let mut sql = Self::new(&format!("UPDATE {table} SET "));
        let set: Vec<String> = row
            .into_iter()
            .map(|(c, v)| format!("{c} = {}", sql.arg(v)))
            .collect();
        let cond = format!(
            " WHERE id = {} AND revision = {}",
            sql.arg(id),
            sql.arg(revision)
        );
        sql.push(&set.join(", ")).push(&cond);
        sql
    }

    /// Append SQL text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Bind `value` and return its placeholder.
    pub(crate) fn arg(&mut self, value: impl Into<Arg>) -> String {
        self.args.push(value.into());
        format!("${}", self.args.len())
    }

    /// `AND (columns) > (key)`: keyset paging after a cursor's key.
    pub(crate) fn after(&mut self, columns: &str, key: Option<Vec<String>>) -> &mut Self {
        if let Some(key) = key {
            let params: Vec<String> = key.into_iter().map(|k| self.arg(k)).collect();
            let text = format!(" AND ({columns}) > ({})", params.join(", "));
            self.push(&text);
        }
        self
    }

    /// `ORDER BY columns LIMIT limit + 1` (the extra row tells that another
    /// page exists).
    pub(crate) fn page(&mut self, columns: &str, limit: u32) -> &mut Self {
        let param = self.arg(i64::from(limit) + 1);
        let text = format!(" ORDER BY {columns} LIMIT {param}");
        self.push(&text)
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The bound values, for `query_as_with`.
    pub(crate) fn arguments(&self) -> AnyArguments<'_> {
        use sqlx::Arguments;
        let mut args = AnyArguments::default();
        for a in &self.args {
            // Binding a text or an integer cannot fail.
            let _ = match a {
                Arg::Text(s) => args.add(s.as_str()),
                Arg::Int(i) => args.add(*i),
            };
        }
        args
    }

    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        sqlx::query_with(&self.text, self.arguments())
    }

    pub(crate) fn scalar<O>(&self) -> QueryScalar<'_, Any, O, AnyArguments<'_>>
    where
        (O,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_scalar_with(&self.text, self.arguments())
    }
}
