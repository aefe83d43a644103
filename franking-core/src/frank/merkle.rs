//! The room member tree: a Merkle tree over a room's sorted, unique member ids, with the tree shape
//! and the domain-separated hashes of RFC 9162 §2.1 (Certificate Transparency v2), SHA-256.
//!
//! ```text
//! leaf(id)      = SHA-256(0x00 ‖ be32(len(id)) ‖ id)
//! node(l, r)    = SHA-256(0x01 ‖ l ‖ r)
//! MTH({d0})     = leaf(d0)
//! MTH(D[0..n])  = node(MTH(D[0..k]), MTH(D[k..n]))   k = the largest power of two < n   (n > 1)
//! ```
//!
//! `D` is the member ids sorted bytewise, without duplicates ([`Error::DuplicateMember`]), at least
//! one and at most [`MAX_ROOM_MEMBERS`]. An inclusion proof for the member at index `i` is RFC 9162's
//! inclusion path (siblings from the leaf up); it is checked with the algorithm of RFC 9162
//! §2.1.3.2 against the root and the member count the stamp authenticates.
//!
//! Second preimages: a leaf hash input starts with 0x00 and a node hash input with 0x01, so a leaf
//! hash equals a node hash only through a SHA-256 collision; and the path length is fixed by
//! (index, member count), both authenticated, so a path that stops at an internal node (presenting
//! `l ‖ r` as a member id) or runs past a leaf is refused.

use sha2::{Digest, Sha256};

use crate::Error;

/// Length of a member-tree hash (SHA-256).
pub const MEMBER_HASH_LEN: usize = 32;
/// Most members one room context may commit to (2^20): proofs have at most 20 siblings.
pub const MAX_ROOM_MEMBERS: usize = 1 << 20;
/// Most siblings an inclusion proof may carry (⌈log2 MAX_ROOM_MEMBERS⌉).
pub const MAX_PROOF_SIBLINGS: usize = 20;

/// A member-tree hash.
pub type MemberHash = [u8; MEMBER_HASH_LEN];

/// The leaf hash of member `id`: `SHA-256(0x00 ‖ be32(len(id)) ‖ id)`.
pub fn leaf_hash(id: &[u8]) -> MemberHash {
    let len = u32::try_from(id.len()).unwrap_or(u32::MAX);
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(len.to_be_bytes());
    h.update(id);
    h.finalize().into()
}

/// The interior node hash: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &MemberHash, right: &MemberHash) -> MemberHash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A room's member tree, every level kept so proofs cost O(log n).
///
/// Level 0 holds the leaf hashes; each next level pairs neighbours and carries an unpaired last node
/// up unchanged, which yields exactly RFC 9162's tree (its left subtrees are complete).
#[derive(Clone, Debug)]
pub struct MemberTree {
    members: Vec<String>,
    levels: Vec<Vec<MemberHash>>,
}

impl MemberTree {
    /// Build the tree over `members` (any order; sorted here). Refuses an empty set or more than
    /// [`MAX_ROOM_MEMBERS`] (`Malformed`), an empty or over-long id (`Malformed`), and a member
    /// listed twice ([`Error::DuplicateMember`]).
    pub fn new(mut members: Vec<String>) -> Result<Self, Error> {
        if members.is_empty() || members.len() > MAX_ROOM_MEMBERS {
            return Err(Error::Malformed {
                what: "room member count",
            });
        }
        members.sort_unstable();
        if members.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::DuplicateMember);
        }
        let mut level: Vec<MemberHash> = Vec::with_capacity(members.len());
        for m in &members {
            crate::frank::context::check_id(m, "room member")?;
            level.push(leaf_hash(m.as_bytes()));
        }
        let mut levels = vec![level];
        while let Some(last) = levels.last().filter(|l| l.len() > 1) {
            let next = last
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => node_hash(l, r),
                    [single] => *single,
                    _ => [0; MEMBER_HASH_LEN],
                })
                .collect();
            levels.push(next);
        }
        Ok(Self { members, levels })
    }

    /// The root hash (RFC 9162's MTH over the sorted members).
    pub fn root(&self) -> MemberHash {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or([0; MEMBER_HASH_LEN])
    }

    /// How many members the tree holds.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Never true: a tree holds at least one member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members, sorted.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// The index of `member`, if it is one.
    pub fn index_of(&self, member: &str) -> Option<usize> {
        self.members
            .binary_search_by(|m| m.as_str().cmp(member))
            .ok()
    }

    /// The inclusion path of the leaf at `index` (siblings from the leaf up), or `None` if out of
    /// range.
    pub fn path(&self, index: usize) -> Option<Vec<MemberHash>> {
        if index >= self.members.len() {
            return None;
        }
        let mut i = index;
        let mut path = Vec::new();
        for level in &self.levels[..self.levels.len().saturating_sub(1)] {
            if let Some(sibling) = level.get(i ^ 1) {
                path.push(*sibling);
            }
            i /= 2;
        }
        Some(path)
    }
}

/// RFC 9162 §2.1.3.2: whether `path` proves that `leaf` is at `index` in the tree of `size`
/// leaves with root `root`. Compares the root in constant time.
pub fn verify_path(
    leaf: &MemberHash,
    index: u64,
    size: u64,
    path: &[MemberHash],
    root: &MemberHash,
) -> bool {
    use subtle::ConstantTimeEq;
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && bool::from(r.ct_eq(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9162's recursive definition, as written.
    fn mth(leaves: &[MemberHash]) -> MemberHash {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let mut k = 1;
        while k * 2 < leaves.len() {
            k *= 2;
        }
        node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
    }

    fn members(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("user-{i:05}")).collect()
    }

    #[test]
    fn levels_equal_the_recursive_definition_and_every_path_verifies() {
        for n in 1..=70 {
            let t = MemberTree::new(members(n)).unwrap();
            let leaves: Vec<_> = t
                .members()
                .iter()
                .map(|m| leaf_hash(m.as_bytes()))
                .collect();
            assert_eq!(t.root(), mth(&leaves), "n = {n}");
            for (i, leaf) in leaves.iter().enumerate() {
                let path = t.path(i).unwrap();
                assert!(path.len() <= (n as f64).log2().ceil() as usize);
                assert!(verify_path(leaf, i as u64, n as u64, &path, &t.root()));
                // (Another size can accept the same path for the same root, e.g. index 0 of 3 and
                // of 4: the count is authenticated with the root, in the stamped context.)
                assert!(!verify_path(leaf, i as u64, n as u64, &path, &[0; 32]));
                if n > 1 {
                    let other = (i + 1) % n;
                    assert!(!verify_path(leaf, other as u64, n as u64, &path, &t.root()));
                    assert!(!verify_path(
                        leaf,
                        i as u64,
                        n as u64,
                        &path[1..],
                        &t.root()
                    ));
                }
            }
        }
    }

    #[test]
    fn duplicates_and_empty_sets_are_refused() {
        assert_eq!(
            MemberTree::new(vec!["a".into(), "b".into(), "a".into()]).unwrap_err(),
            Error::DuplicateMember
        );
        assert!(MemberTree::new(Vec::new()).is_err());
        assert!(MemberTree::new(vec![String::new()]).is_err());
    }
}
