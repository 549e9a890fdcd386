//! `secret-tree.json`.

use super::*;

#[derive(Deserialize)]
struct SecretTreeCase {
    cipher_suite: u16,
    sender_data: SenderDataCase,
    encryption_secret: Hex,
    leaves: Vec<Vec<LeafGeneration>>,
}

#[derive(Deserialize)]
struct SenderDataCase {
    sender_data_secret: Hex,
    ciphertext: Hex,
    key: Hex,
    nonce: Hex,
}

#[derive(Deserialize)]
struct LeafGeneration {
    generation: u32,
    handshake_key: Hex,
    handshake_nonce: Hex,
    application_key: Hex,
    application_nonce: Hex,
}

#[test]
fn secret_tree_vectors() {
    use aura::crypto::Secret;
    use aura::crypto::secret_tree::{RatchetKind, SecretTree};
    use aura::crypto::sender_data::sender_data_key;
    use aura::crypto::tree_math::LeafIndex;

    let cases: Vec<SecretTreeCase> = load("secret-tree.json");
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.cipher_suite == CIPHER_SUITE_ID)
        .collect();
    run_cases("secret-tree.json", &cases, |case| {
        let sender = &case.sender_data;
        let key = check(
            "sender data key",
            sender_data_key(
                CipherSuite::AURA,
                &Secret::from_slice(&sender.sender_data_secret),
                &sender.ciphertext,
            ),
        )?;
        expect_eq("sender_data key", key.key.as_bytes(), &sender.key)?;
        expect_eq("sender_data nonce", key.nonce.as_bytes(), &sender.nonce)?;

        let leaf_count = u32::try_from(case.leaves.len()).map_err(|e| e.to_string())?;
        let size = check("tree size", TreeSize::new(leaf_count))?;
        let mut tree = SecretTree::new(
            CipherSuite::AURA,
            &Secret::from_slice(&case.encryption_secret),
            size,
        );
        let mut checked = 0;
        for (leaf, generations) in case.leaves.iter().enumerate() {
            let leaf = LeafIndex(leaf as u32);
            for expected in generations {
                let generation = expected.generation;
                let where_ = format!("leaf {} generation {generation}", leaf.0);
                let handshake = check(
                    &where_,
                    tree.key_for_generation(leaf, RatchetKind::Handshake, generation),
                )?;
                expect_eq(
                    &format!("{where_} handshake_key"),
                    handshake.key(),
                    &expected.handshake_key,
                )?;
                expect_eq(
                    &format!("{where_} handshake_nonce"),
                    handshake.nonce(),
                    &expected.handshake_nonce,
                )?;
                let application = check(
                    &where_,
                    tree.key_for_generation(leaf, RatchetKind::Application, generation),
                )?;
                expect_eq(
                    &format!("{where_} application_key"),
                    application.key(),
                    &expected.application_key,
                )?;
                expect_eq(
                    &format!("{where_} application_nonce"),
                    application.nonce(),
                    &expected.application_nonce,
                )?;
                checked += 1;
            }
        }
        if checked == 0 {
            return Err("no leaf generation checked".into());
        }
        Ok(())
    });
}
