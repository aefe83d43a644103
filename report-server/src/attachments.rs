//! Attachments of reported messages: each blob uploaded with a report is verified against its
//! reference in the *verified* message content while it streams in ([`Upload`], franking-core's
//! [`AttachmentOpener`]), and its plaintext is stored sealed under the server key in chunk rows
//! (`attachment_chunks`) inside the report's intake transaction, so nothing of a report is kept
//! unless every blob verified. Downloads ([`crate::routes::attachments`]) read the chunks back one
//! at a time; retention purges them with the rest of the evidence ([`purge_case`]).
//!
//! Each chunk holds [`CHUNK_LEN`] plaintext bytes (the last one the rest, at least one byte unless
//! the file is empty) and is sealed with [`seal::seal`] under purpose [`SEAL_PURPOSE`] with the
//! context of [`chunk_context`]: case id, evidence id, attachment id, index, length, media type,
//! commitment, chunk index and a final flag. A chunk moved to another row, another attachment or
//! another position, a dropped last chunk, or changed metadata columns fail to open.
//!
//! The attachment key is never stored: the chunks are the verified plaintext. No deduplication.

use franking_core::frank::attachment::{AttachmentOpener, AttachmentRef};
use franking_core::util::b64_encode;
use sqlx::{AnyConnection, AnyPool};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::keys::Policy;
use crate::seal::{self, ServerKey};
use crate::util::{new_id, to_i64, to_u64};

/// `seal` purpose label of attachment chunks.
pub const SEAL_PURPOSE: &str = "attachment-chunk";
/// Plaintext bytes per chunk row (256 KiB).
pub const CHUNK_LEN: usize = 256 * 1024;

/// Number of chunk rows a file of `length` bytes is stored in (one for an empty file).
pub fn chunk_count(length: u64) -> u64 {
    length.div_ceil(CHUNK_LEN as u64).max(1)
}

/// 413 unless every attachment of a message fits the network's policy: each at most
/// `max_attachment_bytes` (`attachment_over_limit`), together at most
/// `max_report_attachment_bytes` (`report_attachments_over_limit`). The lengths are the committed
/// ones; a blob that would open to more is refused by [`Upload`] while it streams.
pub fn check_limits(policy: &Policy, refs: &[AttachmentRef]) -> Result<(), ApiError> {
    let mut total: u64 = 0;
    for (i, r) in refs.iter().enumerate() {
        if r.length > policy.max_attachment_bytes {
            return Err(ApiError::TooLarge {
                code: "attachment_over_limit",
                message: format!(
                    "attachment {i} has {} bytes; the network allows {} per attachment",
                    r.length, policy.max_attachment_bytes
                ),
            });
        }
        total = total.saturating_add(r.length);
    }
    if total > policy.max_report_attachment_bytes {
        return Err(ApiError::TooLarge {
            code: "report_attachments_over_limit",
            message: format!(
                "the attachments have {total} bytes together; the network allows {} per report",
                policy.max_report_attachment_bytes
            ),
        });
    }
    Ok(())
}

/// What a chunk's sealing context binds: the attachment row it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredAttachment {
    /// Attachment id (`att_...`).
    pub id: String,
    /// Its case.
    pub case_id: String,
    /// The case its chunks were sealed for: `case_id`, or the case it was merged from
    /// (`sealed_case_id`, migration 0030).
    pub sealed_for: String,
    /// Its evidence row.
    pub evidence_id: String,
    /// Position in the reported message's content.
    pub idx: i64,
    /// Committed media type (as declared by the sender).
    pub media_type: String,
    /// Committed plaintext length.
    pub length: i64,
    /// Committed whole-file commitment, base64url.
    pub commitment: String,
    /// Plaintext bytes per chunk.
    pub chunk_len: i64,
    /// Number of chunks.
    pub chunk_count: i64,
    /// When retention purged it.
    pub purged_at: Option<i64>,
}

const COLUMNS: &str = "id, case_id, COALESCE(sealed_case_id, case_id) AS sealed_for, evidence_id, \
                       idx, media_type, length, commitment, chunk_len, chunk_count, purged_at";

fn push_field(c: &mut Vec<u8>, field: &[u8]) {
    c.extend_from_slice(&(field.len() as u32).to_be_bytes());
    c.extend_from_slice(field);
}

/// The `seal` context of chunk `seq` of `a`:
/// `lp(sealed_for case) ‖ lp(evidence) ‖ lp(attachment) ‖ be64(index) ‖ be64(length) ‖ lp(media type) ‖
/// lp(commitment) ‖ be64(seq) ‖ u8(final)` with `lp(x) = be32(|x|) ‖ x`.
pub fn chunk_context(a: &StoredAttachment, seq: u64, is_final: bool) -> Vec<u8> {
    let mut c = Vec::with_capacity(128 + a.media_type.len());
    push_field(&mut c, a.sealed_for.as_bytes());
    push_field(&mut c, a.evidence_id.as_bytes());
    push_field(&mut c, a.id.as_bytes());
    c.extend_from_slice(&to_u64(a.idx).to_be_bytes());
    c.extend_from_slice(&to_u64(a.length).to_be_bytes());
    push_field(&mut c, a.media_type.as_bytes());
    push_field(&mut c, a.commitment.as_bytes());
    c.extend_from_slice(&seq.to_be_bytes());
    c.push(u8::from(is_final));
    c
}

/// One blob being received: checked segment by segment against its verified reference and, when
/// the report is stored (not a duplicate), written chunk by chunk into the intake transaction.
/// Dropping it (or the transaction) before [`Upload::finish`] keeps nothing.
#[derive(Debug)]
pub struct Upload {
    opener: AttachmentOpener,
    row: Option<StoredAttachment>,
    buf: Zeroizing<Vec<u8>>,
    seq: u64,
}

impl Upload {
    /// Start receiving the blob of attachment `index` (`reference`, from the verified content).
    /// With `store = Some((case_id, evidence_id))`, the attachment row is inserted now (inside the
    /// caller's transaction); with `None` the blob is only verified.
    pub async fn begin(
        conn: &mut AnyConnection,
        store: Option<(&str, &str)>,
        index: usize,
        reference: &AttachmentRef,
        now: i64,
    ) -> Result<Self, ApiError> {
        let row = match store {
            None => None,
            Some((case_id, evidence_id)) => {
                let row = StoredAttachment {
                    id: new_id("att")?,
                    case_id: case_id.to_owned(),
                    sealed_for: case_id.to_owned(),
                    evidence_id: evidence_id.to_owned(),
                    idx: i64::try_from(index).unwrap_or(i64::MAX),
                    media_type: reference.media_type.clone(),
                    length: to_i64(reference.length),
                    commitment: b64_encode(&reference.commitment),
                    chunk_len: CHUNK_LEN as i64,
                    chunk_count: to_i64(chunk_count(reference.length)),
                    purged_at: None,
                };
                sqlx::query(
                    "INSERT INTO attachments (id, case_id, evidence_id, idx, media_type, length, \
                     commitment, chunk_len, chunk_count, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&row.id)
                .bind(&row.case_id)
                .bind(&row.evidence_id)
                .bind(row.idx)
                .bind(&row.media_type)
                .bind(row.length)
                .bind(&row.commitment)
                .bind(row.chunk_len)
                .bind(row.chunk_count)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                Some(row)
            }
        };
        Ok(Self {
            opener: AttachmentOpener::new(reference),
            row,
            buf: Zeroizing::new(Vec::with_capacity(2 * CHUNK_LEN)),
            seq: 0,
        })
    }

    /// The next bytes of the blob. A segment that does not verify is the franking-core code as a
    /// 422 (`attachment_tag_invalid`, `attachment_header_invalid`, ...).
    pub async fn update(
        &mut self,
        conn: &mut AnyConnection,
        key: &ServerKey,
        bytes: &[u8],
    ) -> Result<(), ApiError> {
        self.opener
            .update(bytes, &mut self.buf)
            .map_err(|e| ApiError::from_protocol(&e))?;
        Chunks {
            row: self.row.as_ref(),
            buf: &mut self.buf,
            seq: &mut self.seq,
        }
        .flush(conn, key, false)
        .await
    }

    /// End of the blob: the final segment, the length and the whole-file commitment must verify
    /// (422 with the franking-core code otherwise); then the last chunk is written. Returns the
    /// stored attachment (`None` when only verifying).
    pub async fn finish(
        self,
        conn: &mut AnyConnection,
        key: &ServerKey,
    ) -> Result<Option<StoredAttachment>, ApiError> {
        let Upload {
            opener,
            row,
            mut buf,
            mut seq,
        } = self;
        opener
            .finish(&mut buf)
            .map_err(|e| ApiError::from_protocol(&e))?;
        Chunks {
            row: row.as_ref(),
            buf: &mut buf,
            seq: &mut seq,
        }
        .flush(conn, key, true)
        .await?;
        Ok(row)
    }
}

/// The verified plaintext not yet written, and where it goes.
struct Chunks<'a> {
    row: Option<&'a StoredAttachment>,
    buf: &'a mut Zeroizing<Vec<u8>>,
    seq: &'a mut u64,
}

impl Chunks<'_> {
    /// Write every full chunk that is known not to be the last; with `done`, also the last one.
    async fn flush(
        self,
        conn: &mut AnyConnection,
        key: &ServerKey,
        done: bool,
    ) -> Result<(), ApiError> {
        let Some(row) = self.row else {
            self.buf.clear();
            return Ok(());
        };
        while self.buf.len() > CHUNK_LEN {
            insert_chunk(conn, key, row, *self.seq, false, &self.buf[..CHUNK_LEN]).await?;
            self.buf.drain(..CHUNK_LEN);
            *self.seq += 1;
        }
        if done {
            if *self.seq + 1 != to_u64(row.chunk_count) {
                return Err(ApiError::Internal("attachment chunk count".into()));
            }
            insert_chunk(conn, key, row, *self.seq, true, self.buf).await?;
            self.buf.clear();
        }
        Ok(())
    }
}

async fn insert_chunk(
    conn: &mut AnyConnection,
    key: &ServerKey,
    row: &StoredAttachment,
    seq: u64,
    is_final: bool,
    plaintext: &[u8],
) -> Result<(), ApiError> {
    let sealed = seal::seal(
        key,
        SEAL_PURPOSE,
        &chunk_context(row, seq, is_final),
        plaintext,
    )?;
    sqlx::query("INSERT INTO attachment_chunks (attachment_id, seq, sealed) VALUES ($1, $2, $3)")
        .bind(&row.id)
        .bind(to_i64(seq))
        .bind(sealed)
        .execute(conn)
        .await?;
    Ok(())
}

/// The attachment rows of a case (for the case view), by evidence and index.
pub async fn for_case(db: &AnyPool, case_id: &str) -> Result<Vec<StoredAttachment>, ApiError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM attachments WHERE case_id = $1 ORDER BY evidence_id, idx"
    )))
    .bind(case_id)
    .fetch_all(db)
    .await?)
}

/// Attachment `id` of case `case_id` (404 `not_found` if the case has no such attachment).
pub async fn load(db: &AnyPool, case_id: &str, id: &str) -> Result<StoredAttachment, ApiError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM attachments WHERE id = $1 AND case_id = $2"
    )))
    .bind(id)
    .bind(case_id)
    .fetch_optional(db)
    .await?
    .ok_or(ApiError::NotFound("attachment"))
}

/// The plaintext of chunk `seq` of `a`, unsealed (500 if it is missing or does not open: stored
/// data is the server's responsibility).
pub async fn read_chunk(
    db: &AnyPool,
    key: &ServerKey,
    a: &StoredAttachment,
    seq: u64,
) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    let (sealed,): (String,) = sqlx::query_as(
        "SELECT sealed FROM attachment_chunks WHERE attachment_id = $1 AND seq = $2",
    )
    .bind(&a.id)
    .bind(to_i64(seq))
    .fetch_optional(db)
    .await?
    .ok_or_else(|| ApiError::Internal(format!("attachment {} lacks chunk {seq}", a.id)))?;
    let is_final = seq + 1 == to_u64(a.chunk_count);
    seal::open(key, SEAL_PURPOSE, &chunk_context(a, seq, is_final), &sealed)
}

/// Retention: delete the chunks of every attachment of `case_id` whose evidence is purged (each
/// evidence item has its own `purge_after`) and mark those attachments purged
/// (inside the purge's transaction). Returns the number of attachments purged.
pub async fn purge_case(
    conn: &mut AnyConnection,
    case_id: &str,
    now_ms: i64,
) -> Result<u64, ApiError> {
    sqlx::query(
        "DELETE FROM attachment_chunks WHERE attachment_id IN \
         (SELECT a.id FROM attachments a JOIN evidence e ON e.id = a.evidence_id \
          WHERE a.case_id = $1 AND a.purged_at IS NULL AND e.purged_at IS NOT NULL)",
    )
    .bind(case_id)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query(
        "UPDATE attachments SET purged_at = $2 WHERE case_id = $1 AND purged_at IS NULL \
         AND evidence_id IN (SELECT id FROM evidence WHERE case_id = $1 AND purged_at IS NOT NULL)",
    )
    .bind(case_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(id: &str) -> StoredAttachment {
        StoredAttachment {
            id: id.into(),
            case_id: "case_1".into(),
            sealed_for: "case_1".into(),
            evidence_id: "evd_1".into(),
            idx: 0,
            media_type: "image/png".into(),
            length: 10,
            commitment: "Y29t".into(),
            chunk_len: CHUNK_LEN as i64,
            chunk_count: 2,
            purged_at: None,
        }
    }

    /// A chunk opens only in its own place: attachment, position, final flag and metadata.
    #[test]
    fn chunks_are_bound_to_their_place() {
        let key = ServerKey::generate().unwrap();
        let a = row("att_1");
        let sealed = seal::seal(&key, SEAL_PURPOSE, &chunk_context(&a, 0, false), b"data").unwrap();
        let open = |r: &StoredAttachment, seq, fin| {
            seal::open(&key, SEAL_PURPOSE, &chunk_context(r, seq, fin), &sealed)
        };
        assert_eq!(&*open(&a, 0, false).unwrap(), b"data");
        assert!(open(&a, 1, false).is_err());
        assert!(open(&a, 0, true).is_err());
        assert!(open(&row("att_2"), 0, false).is_err());
        let mut relabelled = row("att_1");
        relabelled.media_type = "text/html".into();
        assert!(open(&relabelled, 0, false).is_err());
        let mut other_case = row("att_1");
        other_case.sealed_for = "case_2".into();
        assert!(open(&other_case, 0, false).is_err());
        // Merged into another case (migration 0030): still opens as sealed for its first case.
        let mut merged = row("att_1");
        merged.case_id = "case_2".into();
        assert_eq!(&*open(&merged, 0, false).unwrap(), b"data");
    }

    #[test]
    fn chunk_counts() {
        assert_eq!(chunk_count(0), 1);
        assert_eq!(chunk_count(1), 1);
        assert_eq!(chunk_count(CHUNK_LEN as u64), 1);
        assert_eq!(chunk_count(CHUNK_LEN as u64 + 1), 2);
    }
}
