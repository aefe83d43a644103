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
//! writes.run(conn).await?;   // PostgreSQL: WITH w1 AS (INSERT …), w2 AS (UPDATE …) SELECT 1
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

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.sql.is_empty()
    }

    /// Add a statement whose placeholders are numbered from `$1`; bind its values in order on
    /// the returned [`Bind`].
    pub fn push(&mut self, sql: &str) -> Bind<'_> {
        self.complete();
        self.expected = max_placeholder(sql);
        if self.combine {
            self.base = self.args.first().map_or(0, Arguments::len);
            self.sql.push(renumber(sql, self.base));
            if self.args.is_empty() {
                self.args.push(AnyArguments::default());
            }
        } else {
            self.base = 0;
            self.sql.push(sql.to_owned());
            self.args.push(AnyArguments::default());
        }
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
        if self.is_empty() {
            return Ok(());
        }
        let (sql, args) = self.into_statements()?;
        for (sql, args) in sql.into_iter().zip(args) {
            sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                .execute(&mut *conn)
                .await?;
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
        let writes = self.sql.len();
        bind(&mut self.push(sql));
        let (mut statements, mut args) = self.into_statements_but_last(writes)?;
        let (read, read_args) = match (statements.pop(), args.pop()) {
            (Some(read), Some(read_args)) => (read, read_args),
            _ => return Err(ApiError::Internal("writes: read missing".into())),
        };
        for (sql, args) in statements.into_iter().zip(args) {
            sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                .execute(&mut *conn)
                .await?;
        }
        Ok(
            sqlx::query_as_with::<_, O, _>(sqlx::AssertSqlSafe(read), read_args)
                .fetch_all(&mut *conn)
                .await?,
        )
    }

    /// The statements to send: one combined statement on PostgreSQL, each on its own otherwise.
    fn into_statements(self) -> Result<(Vec<String>, Vec<AnyArguments>), ApiError> {
        let n = self.sql.len();
        let combined = self.combine && n > 1;
        let (mut sql, args) = self.into_statements_but_last(n)?;
        if let Some(last) = sql.last_mut()
            && combined
        {
            last.push_str(" SELECT 1");
        }
        Ok((sql, args))
    }

    /// The statements to send, where the first `writes` are writes and the rest (if any) a read
    /// that ends the combined statement.
    fn into_statements_but_last(
        mut self,
        writes: usize,
    ) -> Result<(Vec<String>, Vec<AnyArguments>), ApiError> {
        self.complete();
        if let Some(e) = self.error {
            return Err(ApiError::Internal(format!("writes: {e}")));
        }
        if !self.combine || self.sql.len() == 1 {
            return Ok((self.sql, self.args));
        }
        let mut sql = String::from("WITH ");
        let mut read = None;
        for (n, statement) in self.sql.into_iter().enumerate() {
            if n >= writes {
                read = Some(statement);
                continue;
            }
            if n > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("w{n} AS ({statement})"));
        }
        if let Some(read) = read {
            sql.push(' ');
            sql.push_str(&read);
        }
        Ok((vec![sql], self.args))
    }
}

/// The highest `$n` placeholder of `sql` (0 if none).
fn max_placeholder(sql: &str) -> usize {
    let mut max = 0;
    scan(sql, |n| {
        max = max.max(n);
        n
    });
    max
}

/// `sql` with every placeholder `$n` (outside quoted literals) renumbered `$(n + offset)`.
fn renumber(sql: &str, offset: usize) -> String {
    scan(sql, |n| n + offset)
}

/// `sql` with each placeholder number `n` replaced by `f(n)`; quoted literals and identifiers
/// are copied as they are.
fn scan(sql: &str, mut f: impl FnMut(usize) -> usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.char_indices().peekable();
    let mut quote = None;
    while let Some((_, c)) = chars.next() {
        out.push(c);
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') => {
                let mut n = 0usize;
                let mut digits = 0;
                while let Some(&(_, d)) = chars.peek() {
                    let Some(v) = d.to_digit(10) else { break };
                    n = n.saturating_mul(10).saturating_add(v as usize);
                    digits += 1;
                    chars.next();
                }
                if digits > 0 {
                    out.push_str(&f(n).to_string());
                }
            }
            (None, _) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_outside_literals() {
        assert_eq!(
            renumber("SELECT $1, '$2', \"$3\", $10 FROM t WHERE a = $2", 5),
            "SELECT $6, '$2', \"$3\", $15 FROM t WHERE a = $7"
        );
        assert_eq!(max_placeholder("VALUES ($1, $2), ($3, '$9')"), 3);
        assert_eq!(max_placeholder("SELECT 1"), 0);
        assert_eq!(renumber("it''s $1", 1), "it''s $2");
    }
}
