//! `treekem.json`.

use super::*;

#[derive(Deserialize)]
struct TreeKemCase {
    cipher_suite: u16,
    group_id: Hex,
    epoch: u64,
    confirmed_transcript_hash: Hex,
    ratchet_tree: Hex,
    leaves_private: Vec<TreeKemLeafPrivate>,
    update_paths: Vec<TreeKemUpdatePath>,
}

#[derive(Deserialize)]
struct TreeKemLeafPrivate {
    index: u32,
    encryption_priv: Hex,
    signature_priv: Hex,
    path_secrets: Vec<TreeKemPathSecret>,
}

#[derive(Deserialize)]
struct TreeKemPathSecret {
    node: u32,
    path_secret: Hex,
}

#[derive(Deserialize)]
struct TreeKemUpdatePath {
    sender: u32,
    update_path: Hex,
    path_secrets: Vec<Option<Hex>>,
    commit_secret: Hex,
    tree_hash_after: Hex,
}

#[test]
fn treekem_vectors() {
    use std::collections::BTreeMap;

    use aura::crypto::Secret;
    use aura::crypto::codec::Decode;
    use aura::crypto::group_context::GroupContext;
    use aura::crypto::ratchet_tree::RatchetTree;
    use aura::crypto::tree_kem::{
        Committer, PathReceiver, UpdatePath, create_update_path, merge_update_path, node_key_pair,
        process_update_path,
    };
    use aura::crypto::tree_math::LeafIndex;

    let cases: Vec<TreeKemCase> = load("treekem.json");
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.cipher_suite == CIPHER_SUITE_ID)
        .collect();
    run_cases("treekem.json", &cases, |case| {
        let tree = check(
            "decode tree",
            RatchetTree::from_tls_bytes(&case.ratchet_tree),
        )?;
        let context_for = |tree: &RatchetTree| {
            Ok(GroupContext {
                cipher_suite: CIPHER_SUITE_ID,
                group_id: case.group_id.to_vec(),
                epoch: case.epoch,
                tree_hash: tree.root_tree_hash()?.to_vec(),
                confirmed_transcript_hash: case.confirmed_transcript_hash.to_vec(),
                extensions: Vec::new(),
            })
        };

        // Each member's private keys, checked against the public tree.
        let mut private_keys: BTreeMap<u32, BTreeMap<u32, HpkePrivateKey>> = BTreeMap::new();
        for leaf in &case.leaves_private {
            let mut keys = BTreeMap::new();
            let leaf_key = check(
                "leaf key",
                HpkePrivateKey::from_bytes(&leaf.encryption_priv),
            )?;
            keys.insert(leaf.index * 2, leaf_key);
            for secret in &leaf.path_secrets {
                let pair = check(
                    "node key",
                    node_key_pair(&Secret::from_slice(&secret.path_secret)),
                )?;
                keys.insert(secret.node, pair.private_key);
            }
            for (node, key) in &keys {
                let public = tree
                    .encryption_key(NodeIndex(*node))
                    .ok_or("private key for blank node")?;
                expect_eq(
                    &format!("leaf {} key for node {node}", leaf.index),
                    &key.public_key().to_bytes(),
                    public,
                )?;
            }
            private_keys.insert(leaf.index, keys);
        }

        for (path_number, update) in case.update_paths.iter().enumerate() {
            let sender = LeafIndex(update.sender);
            let path = check(
                "decode update path",
                UpdatePath::from_tls_bytes(&update.update_path),
            )?;

            let mut merged = tree.clone();
            check(
                "merge update path",
                merge_update_path(&mut merged, sender, &path, &case.group_id),
            )?;
            let tree_hash = check("tree hash after", merged.root_tree_hash())?;
            expect_eq(
                &format!("path {path_number} tree_hash_after"),
                &tree_hash,
                &update.tree_hash_after,
            )?;

            // `path_secrets` is indexed by leaf; blank leaves and the sender have none.
            for leaf in &case.leaves_private {
                let expected = update
                    .path_secrets
                    .get(leaf.index as usize)
                    .ok_or("path_secrets too short")?;
                let Some(expected) = expected else {
                    if leaf.index != update.sender {
                        return Err(format!("no path secret for receiver {}", leaf.index));
                    }
                    continue;
                };
                let keys = &private_keys[&leaf.index];
                let mut receiver_tree = tree.clone();
                let received = check(
                    &format!("path {path_number} receiver {}", leaf.index),
                    process_update_path(
                        &mut receiver_tree,
                        sender,
                        &path,
                        &case.group_id,
                        PathReceiver {
                            leaf: LeafIndex(leaf.index),
                            private_key_for: |node: NodeIndex| keys.get(&node.0).cloned(),
                        },
                        &[],
                        context_for,
                    ),
                )?;
                expect_eq(
                    "decrypted path secret",
                    received.decrypted_path_secret.as_bytes(),
                    expected,
                )?;
                expect_eq(
                    "commit secret",
                    received.commit_secret.as_bytes(),
                    &update.commit_secret,
                )?;
            }

            // Our own UpdatePath from the same sender must be readable by every other member.
            let Some(sender_private) = case
                .leaves_private
                .iter()
                .find(|leaf| leaf.index == update.sender)
            else {
                continue;
            };
            let signing_key = check(
                "sender signing key",
                SignaturePrivateKey::from_seed(&sender_private.signature_priv),
            )?;
            let template = tree.leaf(sender).ok_or("sender leaf is blank")?.clone();
            let mut sender_tree = tree.clone();
            let created = check(
                "create update path",
                create_update_path(
                    &mut sender_tree,
                    Committer {
                        leaf: sender,
                        leaf_template: template,
                        signing_key: &signing_key,
                    },
                    &case.group_id,
                    &[],
                    context_for,
                    &mut OsRandom,
                ),
            )?;
            check(
                "sender tree parent hashes",
                sender_tree.verify_parent_hashes(),
            )?;
            let sender_tree_hash = check("sender tree hash", sender_tree.root_tree_hash())?;
            for leaf in case
                .leaves_private
                .iter()
                .filter(|leaf| leaf.index != update.sender)
            {
                let keys = &private_keys[&leaf.index];
                let mut receiver_tree = tree.clone();
                let received = check(
                    &format!("own path, receiver {}", leaf.index),
                    process_update_path(
                        &mut receiver_tree,
                        sender,
                        &created.update_path,
                        &case.group_id,
                        PathReceiver {
                            leaf: LeafIndex(leaf.index),
                            private_key_for: |node: NodeIndex| keys.get(&node.0).cloned(),
                        },
                        &[],
                        context_for,
                    ),
                )?;
                expect_eq(
                    "own commit secret",
                    received.commit_secret.as_bytes(),
                    created.commit_secret.as_bytes(),
                )?;
                expect_eq(
                    "own tree hash",
                    &check("receiver tree hash", receiver_tree.root_tree_hash())?,
                    &sender_tree_hash,
                )?;
            }
        }
        Ok(())
    });
}
