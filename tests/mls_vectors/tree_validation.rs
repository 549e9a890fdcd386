//! `tree-validation.json`.

use super::*;

#[derive(Deserialize)]
struct TreeValidationCase {
    cipher_suite: u16,
    tree: Hex,
    group_id: Hex,
    resolutions: Vec<Vec<u32>>,
    tree_hashes: Vec<Hex>,
}

/// Suite 1 differs from suite 3 only in its AEAD, which tree validation never
/// uses, so both suites' cases are checked.
const TREE_VALIDATION_SUITES: [u16; 2] = [1, CIPHER_SUITE_ID];

#[test]
fn tree_validation_vectors() {
    use aura::crypto::ratchet_tree::RatchetTree;

    let cases: Vec<TreeValidationCase> = load("tree-validation.json");
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| TREE_VALIDATION_SUITES.contains(&case.cipher_suite))
        .collect();
    run_cases("tree-validation.json", &cases, |case| {
        let tree = check("decode tree", RatchetTree::from_tls_bytes(&case.tree))?;
        let node_count = tree.size().node_count() as usize;
        if case.tree_hashes.len() != node_count || case.resolutions.len() != node_count {
            return Err(format!("vector lists do not match {node_count} nodes"));
        }
        for index in 0..node_count {
            let node = NodeIndex(index as u32);
            let tree_hash = check("tree hash", tree.tree_hash(node))?;
            expect_eq(
                &format!("tree hash of node {index}"),
                &tree_hash,
                &case.tree_hashes[index],
            )?;
            let resolution: Vec<u32> = check("resolution", tree.resolution(node))?
                .into_iter()
                .map(|n| n.0)
                .collect();
            if resolution != case.resolutions[index] {
                return Err(format!(
                    "resolution of node {index}: got {resolution:?}, expected {:?}",
                    case.resolutions[index]
                ));
            }
        }
        check("parent hashes", tree.verify_parent_hashes())?;
        check(
            "leaf signatures",
            tree.verify_leaf_signatures(&case.group_id),
        )?;
        let reencoded = check("encode tree", tree.to_tls_bytes())?;
        expect_eq("tree re-encoding", &reencoded, &case.tree)
    });
}
