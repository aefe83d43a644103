//! [`Writes`]: the write statements of one transaction whose results nobody reads (multi-row
//! inserts and upserts of rows computed beforehand), sent to PostgreSQL as **one** statement —
//! each a data-modifying `WITH` query of it — so a dozen inserts cost one round trip instead of
//! a dozen; SQLite, which has no data-modifying `WITH` and no round trips to save (it runs in
//! process), runs them one after another. [`Writes::run_then_read`] sends one read with them.
//!
//! The statements of one `Writes` run against one snapshot and in no order PostgreSQL promises,
//! so they must not depend on one another's effects (a row another of them inserts, or a row two
//! of them change) — foreign keys are checked at the end of the statement, after all of them. Of
//! the rows they lock, none may be locked by another statement of the same `Writes` (PostgreSQL
//! may take them in any order). Report intake ([`crate::intake`]) and every audited change
//! ([`crate::change::Change`]) send their writes this way.
//!
//! ```text
//! let mut writes = Writes::new(conn);
//! writes.push("INSERT INTO a (x, y) VALUES ($1, $2)").bind(x).bind(y);
//! writes.push("UPDATE b SET n = n + $1 WHERE id = $2").bind(n).bind(id);
//! writes.run(conn).await?;   // PostgreSQL: WITH w0 AS (INSERT …), w1 AS (UPDATE …) SELECT 1
//! ```

use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments, Encode, Type};

use crate::error::ApiError;

/// Write statements of one transaction, run together (see the module docs).
#[derive(Default)]
pub struct Writes {
    /// Whether the statements go to PostgreSQL as one.
    combine: bool,
    /// Each statement's text: placeholders numbered into the shared arguments when combined,
    /// from `$1` otherwise.
    sql: Vec<String>,
    /// The shared arguments when combined; one per statement otherwise.
    args: Vec<AnyArguments>,
    /// The placeholders the last statement uses, checked when it is complete.
    expected: usize,
    /// The arguments bound before the last statement (combined).
    base: usize,
    /// The first value that could not be encoded.
    error: Option<String>,
}

impl core::fmt::Debug for Writes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Statement texts only: the values are evidence, reporters and hashes.
        f.debug_struct("Writes")
            .field("combine", &self.combine)
            .field("statements", &self.sql.len())
            .finish_non_exhaustive()
    }
}

/// The statement [`Writes::push`] added, to bind its values in placeholder order.
pub struct Bind<'w> {
    writes: &'w mut Writes,
}

impl Bind<'_> {
    /// Bind the statement's next placeholder.
    pub fn bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'t, sqlx::Any> + Type<sqlx::Any>,
    {
        let w = &mut *self.writes;
        if let Some(args) = w.args.last_mut()
            && let Err(e) = args.add(value)
            && w.error.is_none()
        {
            w.error = Some(e.to_string());
        }
        self
    }
}

impl Writes {
    /// Writes for `conn`'s database.
    pub fn new(conn: &AnyConnection) -> Self {
        Self {
            combine: crate::db::is_postgres(conn),
            ..Self::default()
        }
    }

    /// Add a statement whose placeholders are numbered from `$1`; bind its values in order on
    /// the returned [`Bind`].
    pub fn push(&mut self, sql: &str) -> Bind<'_> {
        self.complete();
        if self.combine {
            self.base = self.args.first().map_or(0, Arguments::len);
            if self.args.is_empty() {
                self.args.push(AnyArguments::default());
            }
        } else {
            self.base = 0;
            self.args.push(AnyArguments::default());
        }
        let (text, expected) = renumber(sql, self.base);
        self.sql.push(text);
        self.expected = expected;
        Bind { writes: self }
    }

    /// Check that the last statement got a value for each placeholder.
    fn complete(&mut self) {
        let Some(args) = self.args.last() else { return };
        let bound = args.len() - self.base;
        if bound != self.expected && self.error.is_none() {
            self.error = Some(format!(
                "statement {} has {} placeholders and {bound} values",
                self.sql.len(),
                self.expected
            ));
        }
    }

    /// Run the statements (in the caller's transaction).
    pub async fn run(self, conn: &mut AnyConnection) -> Result<(), ApiError> {
        for (sql, args) in self.into_statements(false)? {
            execute(conn, sql, args).await?;
        }
        Ok(())
    }

    /// Run the statements and the read `sql` (placeholders from `$1`, values bound by `bind`),
    /// in one round trip on PostgreSQL (the read sees the snapshot from before the writes);
    /// returns the read's rows.
    pub async fn run_then_read<O>(
        mut self,
        conn: &mut AnyConnection,
        sql: &str,
        bind: impl FnOnce(&mut Bind<'_>),
    ) -> Result<Vec<O>, ApiError>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        bind(&mut self.push(sql));
        let mut statements = self.into_statements(true)?;
        let (read, args) = statements
            .pop()
            .ok_or_else(|| ApiError::Internal("writes: read missing".into()))?;
        for (sql, args) in statements {
            execute(conn, sql, args).await?;
        }
        Ok(
            sqlx::query_as_with::<_, O, _>(sqlx::AssertSqlSafe(read), args)
                .fetch_all(&mut *conn)
                .await?,
        )
    }

    /// The statements to send, in order: on PostgreSQL one, `WITH w0 AS (…), … ` followed by
    /// the last statement if it is a `read`, else by `SELECT 1`; each on its own otherwise.
    fn into_statements(mut self, read: bool) -> Result<Vec<(String, AnyArguments)>, ApiError> {
        self.complete();
        if let Some(e) = self.error {
            return Err(ApiError::Internal(format!("writes: {e}")));
        }
        if !self.combine || self.sql.len() <= 1 {
            return Ok(self.sql.into_iter().zip(self.args).collect());
        }
        let tail = if read { self.sql.pop() } else { None };
        let mut sql = String::from("WITH ");
        for (n, statement) in self.sql.iter().enumerate() {
            if n > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("w{n} AS ({statement})"));
        }
        sql.push(' ');
        sql.push_str(tail.as_deref().unwrap_or("SELECT 1"));
        // Combined, the statements share one list of arguments.
        let args = self.args.into_iter().next().unwrap_or_default();
        Ok(vec![(sql, args)])
    }
}

async fn execute(
    conn: &mut AnyConnection,
    sql: String,
    args: AnyArguments,
) -> Result<(), ApiError> {
    sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
        .execute(conn)
        .await?;
    Ok(())
}

/// `sql` with every placeholder `$n` (outside quoted literals and identifiers) renumbered
/// `$(n + offset)`, and the highest `n` (0 if none).
fn renumber(sql: &str, offset: usize) -> (String, usize) {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut max = 0;
    let mut chars = sql.chars().peekable();
    let mut quote = None;
    while let Some(c) = chars.next() {
        out.push(c);
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') => {
                let mut n = 0usize;
                let mut digits = 0;
                while let Some(v) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n.saturating_mul(10).saturating_add(v as usize);
                    digits += 1;
                    chars.next();
                }
                if digits > 0 {
                    max = max.max(n);
                    out.push_str(&(n + offset).to_string());
                }
            }
            (None, _) => {}
        }
    }
    (out, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_outside_literals() {
        assert_eq!(
            renumber("SELECT $1, '$2', \"$3\", $10 FROM t WHERE a = $2", 5),
            (
                "SELECT $6, '$2', \"$3\", $15 FROM t WHERE a = $7".to_owned(),
                10
            )
        );
        assert_eq!(renumber("VALUES ($1, $2), ($3, '$9')", 0).1, 3);
        assert_eq!(renumber("SELECT 1", 0).1, 0);
        assert_eq!(renumber("it''s $1", 1).0, "it''s $2");
    }
}
