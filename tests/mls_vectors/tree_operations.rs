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

#[test]
fn tree_operations_vectors() {
    use aura::crypto::codec::{Decode, Reader};
    use aura::crypto::key_package::KeyPackage;
    use aura::crypto::leaf_node::LeafNode;
    use aura::crypto::ratchet_tree::RatchetTree;
    use aura::crypto::tree_math::LeafIndex;

    const PROPOSAL_ADD: u16 = 1;
    const PROPOSAL_UPDATE: u16 = 2;
    const PROPOSAL_REMOVE: u16 = 3;

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

        let mut reader = Reader::new(&case.proposal);
        let proposal_type = check("proposal type", reader.read_u16())?;
        match proposal_type {
            PROPOSAL_ADD => {
                // Our KeyPackage decoder only admits suite 3; the package's
                // suite field (bytes 2..4 after the version) is rewritten so
                // the suite-1 package decodes. Tree operations never check the
                // package signature that this invalidates.
                let mut package = reader
                    .read_fixed(reader.remaining_len())
                    .map_err(|e| e.to_string())?
                    .to_vec();
                if package.get(2..4) != Some(&[0, 1][..]) {
                    return Err("unexpected key package suite".into());
                }
                package[3] = CIPHER_SUITE_ID as u8;
                let key_package =
                    check("decode key package", KeyPackage::from_tls_bytes(&package))?;
                check("add", tree.add_leaf(key_package.leaf_node))?;
            }
            PROPOSAL_UPDATE => {
                let leaf_node = check("decode leaf node", LeafNode::decode(&mut reader))?;
                check(
                    "update",
                    tree.update_leaf(LeafIndex(case.proposal_sender), leaf_node),
                )?;
            }
            PROPOSAL_REMOVE => {
                let removed = check("removed index", reader.read_u32())?;
                check("remove", tree.remove_leaf(LeafIndex(removed)))?;
            }
            other => return Err(format!("unexpected proposal type {other}")),
        }
        check("proposal fully read", reader.finish())?;

        let encoded = check("encode tree_after", tree.to_tls_bytes())?;
        expect_eq("tree_after", &encoded, &case.tree_after)?;
        let hash_after = check("tree hash after", tree.root_tree_hash())?;
        expect_eq("tree_hash_after", &hash_after, &case.tree_hash_after)
    });
}
