//! What differs between the SQL databases the store runs on.

/// The database behind a [`crate::SqlStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl Dialect {
    /// The service named in `Unavailable` errors.
    pub(crate) fn service(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// Whether a database error code means "busy, retry": a lock or
    /// serialization conflict rather than a bad statement.
    pub(crate) fn is_busy(self, code: Option<&str>) -> bool {
        match (self, code) {
            // serialization_failure, deadlock_detected, lock_not_available
            (Dialect::Postgres, Some(c)) => matches!(c, "40001" | "40P01" | "55P03"),
            // SQLITE_BUSY, SQLITE_LOCKED and their extended codes
            (Dialect::Sqlite, Some(c)) => c.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)),
            _ => false,
        }
    }

    /// What ends a `SELECT` that locks the rows it reads against deletion
    /// and key changes until the transaction ends (SQLite's write
    /// transactions lock the whole database already).
    pub(crate) fn lock_for_key_share(self) -> &'static str {
        match self {
            Dialect::Postgres => " FOR KEY SHARE",
            Dialect::Sqlite => "",
        }
    }

    /// A condition: the JSON object in `column` holds every key and value of
    /// the JSON object bound as `param`.
    pub(crate) fn labels_contain(self, column: &str, param: &str) -> String {
        match self {
            Dialect::Postgres => format!("({column})::jsonb @> ({param})::jsonb"),
            Dialect::Sqlite => format!(
                "NOT EXISTS (SELECT 1 FROM json_each({param}) AS f WHERE NOT EXISTS \
                 (SELECT 1 FROM json_each({column}) AS l WHERE l.key = f.key AND l.value = f.value))"
            ),
        }
    }
}
