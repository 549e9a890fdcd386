//! `psk_secret.json`.

use super::*;

#[derive(Deserialize)]
struct PskSecretCase {
    cipher_suite: u16,
    psks: Vec<ExternalPsk>,
    psk_secret: Hex,
}

#[derive(Deserialize)]
struct ExternalPsk {
    psk_id: Hex,
    psk: Hex,
    psk_nonce: Hex,
}

#[test]
fn psk_secret_vectors() {
    use aura::crypto::Secret;
    use aura::crypto::psk::{PreSharedKeyId, PskKind, psk_secret};

    let cases: Vec<PskSecretCase> = load("psk_secret.json");
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.cipher_suite == CIPHER_SUITE_ID)
        .collect();
    run_cases("psk_secret.json", &cases, |case| {
        let psks: Vec<_> = case
            .psks
            .iter()
            .map(|psk| {
                (
                    PreSharedKeyId {
                        kind: PskKind::External {
                            psk_id: psk.psk_id.to_vec(),
                        },
                        psk_nonce: psk.psk_nonce.to_vec(),
                    },
                    Secret::from_slice(&psk.psk),
                )
            })
            .collect();
        let secret = check("psk_secret", psk_secret(&psks))?;
        expect_eq("psk_secret", secret.as_bytes(), &case.psk_secret)
    });
}
