//! The tamper-evident audit log: every audit entry is linked into a hash chain in the
//! transaction that writes it, the chains can be re-verified, and each chain's head can be signed
//! (Ed25519) into a checkpoint kept outside the server.
//!
//! * **Chains** ([`chain_of`]): a network's case entries (target `case:<id>`: report intake and
//!   moderation) go to one of [`CASE_CHAINS`] chains `network:<id>/cases:<k>` chosen by the case
//!   id, so each case's whole history is ordered in one chain; the network's other entries go to
//!   `network:<id>`, and entries without a network to `global`. Entry `seq` counts from 1 per
//!   chain; `prev_hash` is the previous entry's `hash` ([`GENESIS`] for seq 1).
//! * **Serialised appends**: [`link`] increments the chain's row in `audit_chain_heads` with
//!   `UPDATE ... RETURNING` — a row lock held until the change commits on PostgreSQL (concurrent
//!   appends to one chain wait for each other's commit; other chains proceed); SQLite serialises
//!   all writers anyway. One chain per network made report intake wait for one commit after
//!   another; spreading cases over eight chains lets PostgreSQL commit reports on different cases
//!   together (`docs/performance.md`).
//! * **Canonical entry encoding** (one per entry; `hash` = lower-case hex SHA-256 of it):
//!
//! ```text
//! "franking audit entry v1\0" ‖ S(chain) ‖ I(seq) ‖ S(prev_hash) ‖ S(id) ‖ I(at) ‖ S(actor)
//!   ‖ S(action) ‖ S(target) ‖ O(network_id) ‖ S(details)
//! S(x) = be32(byte length of x) ‖ UTF-8 bytes of x     I(n) = be64(n) (two's complement)
//! O(None) = 0x00                                         O(Some(x)) = 0x01 ‖ S(x)
//! ```
//!   `details` is the stored JSON text, byte for byte.
//! * **Verification** ([`verify`]): per chain, in `seq` order: seq must be 1, 2, 3, ...;
//!   `prev_hash` must equal the previous `hash`; `hash` must equal the recomputed hash; the head
//!   row must equal the last entry. The first entry that fails is named. An edited row fails its
//!   hash; a deleted row leaves a gap; reordered rows fail their hash (seq is hashed); a deleted
//!   tail disagrees with the head.
//! * **Checkpoints** ([`checkpoints`]): `(chain, seq, hash, at)` signed with an Ed25519 key derived
//!   from the server key (BLAKE3 `derive_key`, context [`SIGNING_CONTEXT`]). Whoever rewrites the
//!   whole chain (recomputing every hash) or truncates it cannot make an older checkpoint match:
//!   [`verify`] checks that the entry at each given checkpoint's seq still has its hash.
//!   Signed message: `"franking audit checkpoint v1\0" ‖ S(chain) ‖ I(seq) ‖ S(hash) ‖ I(at)`.
//! * **Backfill**: entries written before chaining existed (NULL `hash`) are linked, oldest first,
//!   by [`backfill`] when the database is opened ([`crate::db::connect`]).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sqlx::{AnyConnection, AnyPool};

use crate::error::ApiError;
use crate::seal::ServerKey;
use crate::util::now_ms;
use crate::writes::Writes;

/// `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The chain of entries without a network.
pub const GLOBAL_CHAIN: &str = "global";
/// BLAKE3 `derive_key` context of the checkpoint signing key.
pub const SIGNING_CONTEXT: &str = "franking report-server 2025 audit checkpoint ed25519 v1";

const ENTRY_LABEL: &[u8] = b"franking audit entry v1\0";
const CHECKPOINT_LABEL: &[u8] = b"franking audit checkpoint v1\0";

/// How many chains a network's case entries are spread over (by case id), so that reports on
/// different cases do not wait for one another's commits on one chain head.
pub const CASE_CHAINS: u8 = 8;

/// The chain of an entry about `network` with `target` (module docs): `global` without a network,
/// `network:<id>/cases:<k>` for a case's entries (`target` `case:<case id>`, `k` = first byte of
/// SHA-256(case id) mod [`CASE_CHAINS`]), `network:<id>` for the network's other entries.
pub fn chain_of(network: Option<&str>, target: &str) -> String {
    let Some(network) = network else {
        return GLOBAL_CHAIN.to_owned();
    };
    match target.strip_prefix("case:") {
        Some(case_id) => {
            let k = Sha256::digest(case_id.as_bytes())[0] % CASE_CHAINS;
            format!("network:{network}/cases:{k}")
        }
        None => format!("network:{network}"),
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The fields of an audit entry that its hash covers.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    /// Entry id.
    pub id: String,
    /// Time (ms).
    pub at: i64,
    /// Actor.
    pub actor: String,
    /// Action.
    pub action: String,
    /// Target.
    pub target: String,
    /// Network.
    pub network_id: Option<String>,
    /// Details (stored JSON text).
    pub details: String,
}

/// The canonical encoding's hash (module docs) of `e` at `seq` in `chain` after `prev_hash`.
pub fn entry_hash(chain: &str, seq: i64, prev_hash: &str, e: &Entry) -> String {
    let mut b = Vec::with_capacity(256 + e.details.len());
    b.extend_from_slice(ENTRY_LABEL);
    put_str(&mut b, chain);
    b.extend_from_slice(&seq.to_be_bytes());
    put_str(&mut b, prev_hash);
    put_str(&mut b, &e.id);
    b.extend_from_slice(&e.at.to_be_bytes());
    put_str(&mut b, &e.actor);
    put_str(&mut b, &e.action);
    put_str(&mut b, &e.target);
    match &e.network_id {
        None => b.push(0),
        Some(n) => {
            b.push(1);
            put_str(&mut b, n);
        }
    }
    put_str(&mut b, &e.details);
    hex::encode(Sha256::digest(&b))
}

/// Where [`link`] put an entry.
#[derive(Debug, Clone)]
pub struct Link {
    /// Chain name.
    pub chain: String,
    /// Position (from 1).
    pub seq: i64,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// The heads of `chains` (sorted, distinct): `chain` → `(seq, hash)`, locked until commit on
/// PostgreSQL, in chain order (`SELECT … ORDER BY chain FOR UPDATE`: concurrent writers lock
/// heads in one order, so they wait for one another but never deadlock; SQLite's `BEGIN
/// IMMEDIATE` already excludes every other writer).
async fn lock_heads(
    conn: &mut AnyConnection,
    chains: &[&str],
) -> Result<HashMap<String, (i64, String)>, ApiError> {
    let lock = if crate::db::is_postgres(conn) {
        " FOR UPDATE"
    } else {
        ""
    };
    let mut heads = HashMap::new();
    for chunk in crate::db::padded_chunks(chains) {
        let list = chunk.in_list(1);
        let mut q = sqlx::query_as::<_, (String, i64, String)>(sqlx::AssertSqlSafe(format!(
            "SELECT chain, seq, hash FROM audit_chain_heads WHERE chain IN ({list}) \
             ORDER BY chain{lock}"
        )));
        for (chain, _) in chunk.slots() {
            q = q.bind(*chain);
        }
        for (chain, seq, hash) in q.fetch_all(&mut *conn).await? {
            heads.insert(chain, (seq, hash));
        }
    }
    Ok(heads)
}

/// Link `entries` into their chains, in order (in the caller's transaction; the heads of their
/// chains stay locked until commit). A chain's head row is created at its first entry (a
/// concurrent creator is harmless: `DO NOTHING`). Statements: one locking read of the heads now,
/// whatever the number of entries (plus one insert for new chains), and the write of the new
/// heads added to `writes` (the heads are locked: no other transaction changes them first).
pub(crate) async fn link_all(
    conn: &mut AnyConnection,
    entries: &[Entry],
    writes: &mut Writes,
) -> Result<Vec<Link>, ApiError> {
    let chains: Vec<String> = entries
        .iter()
        .map(|e| chain_of(e.network_id.as_deref(), &e.target))
        .collect();
    let mut distinct: Vec<&str> = chains.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let now = now_ms();
    let mut heads = lock_heads(&mut *conn, &distinct).await?;
    let missing: Vec<&str> = distinct
        .iter()
        .copied()
        .filter(|c| !heads.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        const COLUMNS: &str = "chain, seq, hash, updated_at";
        for chunk in crate::db::padded_chunks(&missing) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "{} INSERT INTO audit_chain_heads ({COLUMNS}) SELECT {COLUMNS} FROM v \
                 WHERE keep = 1 ON CONFLICT (chain) DO NOTHING",
                chunk.with_rows(COLUMNS, 1)
            )));
            for (chain, keep) in chunk.slots() {
                q = q
                    .bind(*chain)
                    .bind(0_i64)
                    .bind(GENESIS)
                    .bind(now)
                    .bind(keep);
            }
            q.execute(&mut *conn).await?;
        }
        heads = lock_heads(&mut *conn, &distinct).await?;
    }
    let mut links = Vec::with_capacity(entries.len());
    for (e, chain) in entries.iter().zip(chains) {
        let (seq, prev_hash) = heads
            .get_mut(&chain)
            .ok_or_else(|| ApiError::Internal(format!("audit chain head {chain} missing")))?;
        *seq += 1;
        let hash = entry_hash(&chain, *seq, prev_hash, e);
        let link = Link {
            chain,
            seq: *seq,
            prev_hash: std::mem::replace(prev_hash, hash.clone()),
            hash,
        };
        links.push(link);
    }
    let mut new_heads: Vec<(&String, &(i64, String))> = heads.iter().collect();
    new_heads.sort_unstable_by_key(|(chain, _)| *chain);
    for chunk in crate::db::padded_chunks(&new_heads) {
        let mut b = writes.push(&format!(
            "{} UPDATE audit_chain_heads SET seq = v.seq, hash = v.hash, updated_at = $1 \
             FROM v WHERE audit_chain_heads.chain = v.chain AND v.keep = 1",
            chunk.with_rows("chain, seq, hash", 2)
        ));
        b.bind(now);
        for ((chain, (seq, hash)), keep) in chunk.slots() {
            b.bind(*chain).bind(*seq).bind(hash).bind(keep);
        }
    }
    Ok(links)
}

/// Link every entry that has no chain yet (written before chaining existed), oldest first.
/// Idempotent and safe with several instances (each row is linked once, under the head lock).
pub async fn backfill(db: &AnyPool) -> Result<u64, ApiError> {
    let mut linked = 0;
    loop {
        let rows: Vec<Entry> = sqlx::query_as(
            "SELECT id, at, actor, action, target, network_id, details FROM audit_log \
             WHERE hash IS NULL ORDER BY at, id LIMIT 500",
        )
        .fetch_all(db)
        .await?;
        if rows.is_empty() {
            return Ok(linked);
        }
        for e in rows {
            let mut tx = crate::db::begin_write(db).await?;
            let mut heads = Writes::new(&tx);
            let l = link_all(&mut tx, std::slice::from_ref(&e), &mut heads)
                .await?
                .pop()
                .ok_or_else(|| ApiError::Internal("audit link missing".into()))?;
            let n = sqlx::query(
                "UPDATE audit_log SET chain = $2, seq = $3, prev_hash = $4, hash = $5 \
                 WHERE id = $1 AND hash IS NULL",
            )
            .bind(&e.id)
            .bind(&l.chain)
            .bind(l.seq)
            .bind(&l.prev_hash)
            .bind(&l.hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                heads.run(&mut tx).await?;
                tx.commit().await?;
                linked += 1;
            } else {
                tx.rollback().await?;
            }
        }
    }
}

/// The checkpoint signing key (derived from the server key; never stored).
pub fn signing_key(key: &ServerKey) -> SigningKey {
    SigningKey::from_bytes(&key.derive(SIGNING_CONTEXT))
}

/// The checkpoint verifying key, base64url.
pub fn public_key(key: &ServerKey) -> String {
    URL_SAFE_NO_PAD.encode(signing_key(key).verifying_key().as_bytes())
}

/// A signed statement of a chain's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Chain name.
    pub chain: String,
    /// The head's seq (0: empty chain).
    pub seq: i64,
    /// The head's hash.
    pub hash: String,
    /// When the checkpoint was made (ms).
    pub at: i64,
    /// Ed25519 signature (base64url) over the signed message (module docs).
    pub signature: String,
}

fn checkpoint_message(chain: &str, seq: i64, hash: &str, at: i64) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + chain.len() + hash.len());
    b.extend_from_slice(CHECKPOINT_LABEL);
    put_str(&mut b, chain);
    b.extend_from_slice(&seq.to_be_bytes());
    put_str(&mut b, hash);
    b.extend_from_slice(&at.to_be_bytes());
    b
}

impl Checkpoint {
    /// Check the signature with `public_key` (strict Ed25519 verification).
    pub fn verify_signature(&self, public_key: &VerifyingKey) -> bool {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(&self.signature) else {
            return false;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(&raw) else {
            return false;
        };
        let msg = checkpoint_message(&self.chain, self.seq, &self.hash, self.at);
        public_key.verify_strict(&msg, &sig).is_ok()
    }
}

/// A signed checkpoint of every chain's current head.
pub async fn checkpoints(db: &AnyPool, key: &ServerKey) -> Result<Vec<Checkpoint>, ApiError> {
    let heads: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT chain, seq, hash FROM audit_chain_heads ORDER BY chain")
            .fetch_all(db)
            .await?;
    let sk = signing_key(key);
    let at = now_ms();
    Ok(heads
        .into_iter()
        .map(|(chain, seq, hash)| {
            let sig = sk.sign(&checkpoint_message(&chain, seq, &hash, at));
            Checkpoint {
                signature: URL_SAFE_NO_PAD.encode(sig.to_bytes()),
                chain,
                seq,
                hash,
                at,
            }
        })
        .collect())
}

/// The first entry of a chain that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The chain.
    pub chain: String,
    /// The seq the entry should have (or has).
    pub seq: i64,
    /// The entry's id, if there is an entry at that place.
    pub entry_id: Option<String>,
    /// What does not match (stable code): `seq_gap`, `prev_hash_mismatch`, `hash_mismatch`,
    /// `head_mismatch`, `unchained_entry`, `checkpoint_missing`, `checkpoint_mismatch`.
    pub problem: String,
    /// Human-readable detail.
    pub message: String,
}

/// The verification of one chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainReport {
    /// The chain.
    pub chain: String,
    /// Entries checked (up to the first mismatch).
    pub entries: i64,
    /// The head's (seq, hash) as stored.
    pub head_seq: i64,
    /// The head's hash as stored.
    pub head_hash: String,
    /// The first entry that does not verify, if any.
    pub first_mismatch: Option<Mismatch>,
}

/// The result of [`verify`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyReport {
    /// True iff every chain and every given checkpoint verified.
    pub ok: bool,
    /// Per chain.
    pub chains: Vec<ChainReport>,
    /// Checkpoints given and checked.
    pub checkpoints_checked: usize,
}

#[derive(sqlx::FromRow)]
struct ChainedRow {
    #[sqlx(flatten)]
    entry: Entry,
    seq: i64,
    prev_hash: String,
    hash: String,
}

fn mismatch(chain: &str, seq: i64, id: Option<&str>, problem: &str, message: String) -> Mismatch {
    Mismatch {
        chain: chain.to_owned(),
        seq,
        entry_id: id.map(str::to_owned),
        problem: problem.to_owned(),
        message,
    }
}

async fn verify_chain(
    db: &AnyPool,
    chain: &str,
    head: Option<(i64, String)>,
    checkpoints: &[&Checkpoint],
) -> Result<ChainReport, ApiError> {
    let (head_seq, head_hash) = head.unwrap_or((0, GENESIS.to_owned()));
    let mut report = ChainReport {
        chain: chain.to_owned(),
        entries: 0,
        head_seq,
        head_hash: head_hash.clone(),
        first_mismatch: None,
    };
    let (mut expect_seq, mut prev) = (1i64, GENESIS.to_owned());
    let mut after = 0i64;
    // Hashes at the checkpoints' seqs, as found.
    let mut at_checkpoint: Vec<Option<String>> = vec![None; checkpoints.len()];
    'pages: loop {
        let rows: Vec<ChainedRow> = sqlx::query_as(
            "SELECT id, at, actor, action, target, network_id, details, seq, prev_hash, hash \
             FROM audit_log WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT 1000",
        )
        .bind(chain)
        .bind(after)
        .fetch_all(db)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            after = r.seq;
            let id = Some(r.entry.id.as_str());
            let problem = if r.seq != expect_seq {
                Some(mismatch(
                    chain,
                    expect_seq,
                    id,
                    "seq_gap",
                    format!(
                        "expected seq {expect_seq}, found entry {} with seq {} (entries missing or reordered)",
                        r.entry.id, r.seq
                    ),
                ))
            } else if r.prev_hash != prev {
                Some(mismatch(
                    chain,
                    r.seq,
                    id,
                    "prev_hash_mismatch",
                    format!(
                        "entry {} does not link to the previous entry's hash",
                        r.entry.id
                    ),
                ))
            } else if entry_hash(chain, r.seq, &r.prev_hash, &r.entry) != r.hash {
                Some(mismatch(
                    chain,
                    r.seq,
                    id,
                    "hash_mismatch",
                    format!(
                        "entry {} does not match its hash (edited, or moved from another place)",
                        r.entry.id
                    ),
                ))
            } else {
                None
            };
            if let Some(m) = problem {
                report.first_mismatch = Some(m);
                break 'pages;
            }
            for (i, c) in checkpoints.iter().enumerate() {
                if c.seq == r.seq {
                    at_checkpoint[i] = Some(r.hash.clone());
                }
            }
            report.entries += 1;
            expect_seq += 1;
            prev = r.hash;
        }
    }
    if report.first_mismatch.is_none()
        && (expect_seq - 1, prev.as_str()) != (head_seq, head_hash.as_str())
    {
        report.first_mismatch = Some(mismatch(
            chain,
            expect_seq,
            None,
            "head_mismatch",
            format!(
                "the chain ends at seq {} but its head records seq {head_seq} (entries deleted at the end, or the head was changed)",
                expect_seq - 1
            ),
        ));
    }
    if report.first_mismatch.is_none() {
        for (c, found) in checkpoints.iter().zip(at_checkpoint) {
            let bad = match (c.seq, found) {
                (0, _) => None,
                (_, None) => Some(("checkpoint_missing", "no longer exists (truncated)")),
                (_, Some(h)) if h != c.hash => Some((
                    "checkpoint_mismatch",
                    "differs from the checkpoint (rewritten)",
                )),
                _ => None,
            };
            if let Some((problem, what)) = bad {
                report.first_mismatch = Some(mismatch(
                    chain,
                    c.seq,
                    None,
                    problem,
                    format!(
                        "the entry at seq {} of the checkpoint made at {} {what}",
                        c.seq, c.at
                    ),
                ));
                break;
            }
        }
    }
    Ok(report)
}

/// Recompute every chain (module docs) and check `checkpoints` (whose signatures must verify under
/// `public_key`: 422 `bad_checkpoint` otherwise).
pub async fn verify(
    db: &AnyPool,
    public_key: &VerifyingKey,
    checkpoints: &[Checkpoint],
) -> Result<VerifyReport, ApiError> {
    if let Some(c) = checkpoints.iter().find(|c| !c.verify_signature(public_key)) {
        return Err(ApiError::unprocessable(
            "bad_checkpoint",
            format!(
                "the checkpoint of chain {:?} at seq {} is not signed by this server's audit key",
                c.chain, c.seq
            ),
        ));
    }
    let mut chains: Vec<String> = sqlx::query_as::<_, (String,)>(
        "SELECT chain FROM audit_chain_heads UNION SELECT DISTINCT chain FROM audit_log \
         WHERE chain IS NOT NULL",
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|(c,)| c)
    .collect();
    for c in checkpoints {
        if !chains.contains(&c.chain) {
            chains.push(c.chain.clone());
        }
    }
    chains.sort();
    let heads: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT chain, seq, hash FROM audit_chain_heads")
            .fetch_all(db)
            .await?;
    let mut out = Vec::new();
    for chain in chains {
        let head = heads
            .iter()
            .find(|(c, _, _)| *c == chain)
            .map(|(_, s, h)| (*s, h.clone()));
        let mine: Vec<&Checkpoint> = checkpoints.iter().filter(|c| c.chain == chain).collect();
        out.push(verify_chain(db, &chain, head, &mine).await?);
    }
    let unchained: Option<(String,)> =
        sqlx::query_as("SELECT id FROM audit_log WHERE chain IS NULL OR seq IS NULL OR hash IS NULL ORDER BY at, id LIMIT 1")
            .fetch_optional(db)
            .await?;
    if let Some((id,)) = unchained {
        out.push(ChainReport {
            chain: String::new(),
            entries: 0,
            head_seq: 0,
            head_hash: String::new(),
            first_mismatch: Some(mismatch(
                "",
                0,
                Some(&id),
                "unchained_entry",
                format!("entry {id} is not linked into any chain"),
            )),
        });
    }
    Ok(VerifyReport {
        ok: out.iter().all(|c| c.first_mismatch.is_none()),
        chains: out,
        checkpoints_checked: checkpoints.len(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn e() -> Entry {
        Entry {
            id: "aud_1".into(),
            at: 5,
            actor: "admin:root".into(),
            action: "network.create".into(),
            target: "network:n".into(),
            network_id: Some("n".into()),
            details: "{}".into(),
        }
    }

    #[test]
    fn every_field_is_hashed_and_encoding_is_unambiguous() {
        let base = entry_hash("network:n", 1, GENESIS, &e());
        assert_eq!(base.len(), 64);
        let mut variants = vec![
            entry_hash("global", 1, GENESIS, &e()),
            entry_hash("network:n", 2, GENESIS, &e()),
            entry_hash("network:n", 1, &base, &e()),
        ];
        let edits: [fn(&mut Entry); 7] = [
            |x| x.id.push('x'),
            |x| x.at += 1,
            |x| x.actor.push('x'),
            |x| x.action.push('x'),
            |x| x.target.push('x'),
            |x| x.network_id = None,
            |x| x.details = "{ }".into(),
        ];
        for f in edits {
            let mut x = e();
            f(&mut x);
            variants.push(entry_hash("network:n", 1, GENESIS, &x));
        }
        // Moving bytes between adjacent fields changes the hash (length prefixes).
        let mut x = e();
        x.actor = "admin:roo".into();
        x.action = "tnetwork.create".into();
        variants.push(entry_hash("network:n", 1, GENESIS, &x));
        // An empty network differs from none.
        let mut x = e();
        x.network_id = Some(String::new());
        variants.push(entry_hash("network:n", 1, GENESIS, &x));
        for v in &variants {
            assert_ne!(*v, base);
        }
    }

    #[test]
    fn checkpoint_signatures() {
        let k = ServerKey::generate().unwrap();
        let sk = signing_key(&k);
        let msg = checkpoint_message("global", 3, "ab", 7);
        let c = Checkpoint {
            chain: "global".into(),
            seq: 3,
            hash: "ab".into(),
            at: 7,
            signature: URL_SAFE_NO_PAD.encode(sk.sign(&msg).to_bytes()),
        };
        let pk = sk.verifying_key();
        assert!(c.verify_signature(&pk));
        for bad in [
            Checkpoint {
                seq: 4,
                ..c.clone()
            },
            Checkpoint {
                hash: "ac".into(),
                ..c.clone()
            },
            Checkpoint { at: 8, ..c.clone() },
            Checkpoint {
                chain: "network:x".into(),
                ..c.clone()
            },
            Checkpoint {
                signature: "!!".into(),
                ..c.clone()
            },
        ] {
            assert!(!bad.verify_signature(&pk));
        }
        let other = signing_key(&ServerKey::generate().unwrap()).verifying_key();
        assert!(!c.verify_signature(&other));
        // The key is a function of the server key.
        assert_eq!(public_key(&k), public_key(&k));
    }
}
