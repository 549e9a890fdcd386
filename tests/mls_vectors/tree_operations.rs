//! `tree-operations.json`.

use super::*;

#[derive(Deserialize)]
struct TreeOperationsCase {
    cipher_suite: u16,
    tree_before: Hex,
    tree_hash_before: Hex,
    proposal: Hex,
    proposal_sender: u32,
    tree_after: Hex,
    tree_hash_after: Hex,
}

/// Published for suite 1 only, which shares every primitive used here
/// (SHA-256 tree hashes) with suite 3.
const TREE_OPERATIONS_SUITE: u16 = 1;

/// The vector names no group, so an Update's leaf signature (bound to the
/// group id) cannot be checked; only Adds and Removes can go through the
/// group's own proposal rules.
const NO_GROUP_ID: &[u8] = &[];

#[test]
fn tree_operations_vectors() {
    use aura::crypto::codec::Decode;
    use aura::crypto::group::{ProposalFrom, apply_proposals};
    use aura::crypto::proposal::Proposal;
    use aura::crypto::ratchet_tree::RatchetTree;
    use aura::crypto::tree_math::LeafIndex;

    let cases: Vec<TreeOperationsCase> = load("tree-operations.json");
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.cipher_suite == TREE_OPERATIONS_SUITE)
        .collect();
    run_cases("tree-operations.json", &cases, |case| {
        let mut tree = check(
            "decode tree_before",
            RatchetTree::from_tls_bytes(&case.tree_before),
        )?;
        let hash_before = check("tree hash before", tree.root_tree_hash())?;
        expect_eq("tree_hash_before", &hash_before, &case.tree_hash_before)?;

        let proposal = check("decode proposal", Proposal::from_tls_bytes(&case.proposal))?;
        let sender = LeafIndex(case.proposal_sender);
        match &proposal {
            Proposal::Add(key_package) => {
                check("key package signature", key_package.verify())?;
                let applied = check(
                    "apply add",
                    apply_proposals(
                        &mut tree,
                        NO_GROUP_ID,
                        case.cipher_suite,
                        &[ProposalFrom {
                            proposer: sender,
                            proposal: &proposal,
                            by_reference: false,
                        }],
                        sender,
                    ),
                )?;
                if applied.added.len() != 1 {
                    return Err("add proposal added no leaf".into());
                }
            }
            Proposal::Remove(removed) => {
                let applied = check(
                    "apply remove",
                    apply_proposals(
                        &mut tree,
                        NO_GROUP_ID,
                        case.cipher_suite,
                        &[ProposalFrom {
                            proposer: sender,
                            proposal: &proposal,
                            by_reference: false,
                        }],
                        sender,
                    ),
                )?;
                if applied.removed != [*removed] {
                    return Err(format!("removed {:?}", applied.removed));
                }
            }
            Proposal::Update(leaf_node) => {
                // The tree operation `apply_proposals` performs once the
                // leaf's signature has verified.
                check("update", tree.update_leaf(sender, leaf_node.clone()))?;
            }
            other => return Err(format!("unexpected proposal {other:?}")),
        }

        let encoded = check("encode tree_after", tree.to_tls_bytes())?;
        expect_eq("tree_after", &encoded, &case.tree_after)?;
        let hash_after = check("tree hash after", tree.root_tree_hash())?;
        expect_eq("tree_hash_after", &hash_after, &case.tree_hash_after)
    });
}
