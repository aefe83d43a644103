//! Moderator notes on cases (`notes` table): insert (inside a [`crate::change::Change`]), list,
//! count.

use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};

use crate::error::ApiError;
use crate::util::new_id;

/// Longest note body in bytes.
pub const MAX_NOTE_LEN: usize = 10_000;

/// A note: row and response.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Note {
    /// Audit actor of the author, e.g. `moderator:alice@net1`.
    pub author: String,
    /// The text.
    pub body: String,
    /// The case it is on.
    pub case_id: String,
    /// When it was written (ms).
    pub created_at: i64,
    /// Note id.
    pub id: String,
}

/// Insert a note on `case_id` by `author` at `now` (inside the caller's transaction).
pub async fn insert(
    conn: &mut AnyConnection,
    case_id: &str,
    author: &str,
    body: &str,
    now: i64,
) -> Result<Note, ApiError> {
    let note = Note {
        author: author.to_owned(),
        body: body.to_owned(),
        case_id: case_id.to_owned(),
        created_at: now,
        id: new_id("note")?,
    };
    sqlx::query(
        "INSERT INTO notes (id, case_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&note.id)
    .bind(&note.case_id)
    .bind(&note.author)
    .bind(&note.body)
    .bind(note.created_at)
    .execute(conn)
    .await?;
    Ok(note)
}

/// A case's notes, oldest first.
pub async fn for_case(db: &AnyPool, case_id: &str) -> Result<Vec<Note>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT id, case_id, author, body, created_at FROM notes WHERE case_id = $1 \
         ORDER BY created_at, id",
    )
    .bind(case_id)
    .fetch_all(db)
    .await?)
}

/// Number of notes on a case.
pub async fn count(db: &AnyPool, case_id: &str) -> Result<i64, ApiError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) AS n FROM notes WHERE case_id = $1")
        .bind(case_id)
        .fetch_one(db)
        .await?;
    Ok(n)
}
