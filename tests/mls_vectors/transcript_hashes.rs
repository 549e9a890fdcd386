//! `transcript-hashes.json`.

use super::*;

#[derive(Deserialize)]
struct TranscriptHashesCase {
    cipher_suite: u16,
    confirmation_key: Hex,
    authenticated_content: Hex,
    interim_transcript_hash_before: Hex,
    confirmed_transcript_hash_after: Hex,
    interim_transcript_hash_after: Hex,
}

#[test]
fn transcript_hashes_vectors() {
    use aura::crypto::transcript::{
        AuthenticatedCommit, confirmed_transcript_hash, interim_transcript_hash,
    };

    let cases: Vec<TranscriptHashesCase> = load("transcript-hashes.json");
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.cipher_suite == CIPHER_SUITE_ID)
        .collect();
    run_cases("transcript-hashes.json", &cases, |case| {
        let commit = check(
            "split authenticated content",
            AuthenticatedCommit::split(&case.authenticated_content),
        )?;
        let confirmed = check(
            "confirmed transcript hash",
            confirmed_transcript_hash(
                &case.interim_transcript_hash_before,
                &commit.confirmed_input,
            ),
        )?;
        expect_eq(
            "confirmed_transcript_hash_after",
            &confirmed,
            &case.confirmed_transcript_hash_after,
        )?;
        // The tag inside the commit must be the MAC of the new confirmed hash.
        check(
            "confirmation tag",
            primitives::verify_mac(&case.confirmation_key, &confirmed, commit.confirmation_tag),
        )?;
        let interim = check(
            "interim transcript hash",
            interim_transcript_hash(&confirmed, commit.confirmation_tag),
        )?;
        expect_eq(
            "interim_transcript_hash_after",
            &interim,
            &case.interim_transcript_hash_after,
        )
    });
}
