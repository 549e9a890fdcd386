//! How the code fares against typos, deletions and insertions, and against
//! whatever else may be pasted.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::arithmetic_side_effects
)]

use super::tests::{ALPHABET, assert_one_short_line, encoded, invitation, sample_codes};
use super::*;

#[test]
fn every_substitution_within_the_alphabet_is_a_checksum_typo() {
    for text in sample_codes() {
        // The prefix is not base32: a wrong letter there makes the text not a code
        // at all, or a code of another version, which the tests below cover.
        for (index, original) in text.char_indices().skip(VERSIONED_PREFIX.len()) {
            for replacement in ALPHABET.chars().filter(|&c| c != original) {
                let mut typo = text.clone();
                typo.replace_range(index..=index, replacement.encode_utf8(&mut [0; 4]));
                assert_eq!(
                    InvitationCode::decode(&typo),
                    Err(CodeError::Checksum),
                    "{typo}"
                );
            }
        }
    }
}

#[test]
fn every_swap_of_neighbouring_characters_is_a_checksum_typo() {
    for text in sample_codes() {
        let chars: Vec<char> = text.chars().collect();
        for index in VERSIONED_PREFIX.len()..chars.len() - 1 {
            if chars[index] != chars[index + 1] {
                let mut swapped = chars.clone();
                swapped.swap(index, index + 1);
                let swapped: String = swapped.into_iter().collect();
                assert_eq!(InvitationCode::decode(&swapped), Err(CodeError::Checksum));
            }
        }
    }
}

#[test]
fn every_character_outside_the_alphabet_is_reported_where_it_stands() {
    let outsiders = [
        '0', '1', '8', '9', '=', '-', '.', '!', 'é', 'ａ', '\0', '\u{202E}', '\u{200B}',
    ];
    for text in sample_codes() {
        for (index, _) in text.char_indices().skip(VERSIONED_PREFIX.len()) {
            for outsider in outsiders {
                let mut typo = text.clone();
                typo.replace_range(index..=index, outsider.encode_utf8(&mut [0; 4]));
                let err = InvitationCode::decode(&typo);
                let want = CodeError::BadCharacter {
                    position: index + 1,
                    character: outsider,
                };
                assert_eq!(err, Err(want.clone()));
                assert!(want.is_typo());
                assert_one_short_line(&want);
            }
        }
    }
}

#[test]
fn a_bad_character_is_counted_in_the_text_as_given() {
    let text = encoded(&invitation(&["/ip4/127.0.0.1/tcp/40123"], ""));
    let (head, tail) = text.split_at(30);
    let pasted = format!(
        "  \"{}\n {}!{}\"",
        head.to_uppercase(),
        &tail[..10],
        &tail[10..]
    );
    let position = 3 + 30 + 2 + 10 + 1;
    assert_eq!(pasted.chars().nth(position - 1), Some('!'));
    let err = InvitationCode::decode(&pasted);
    assert_eq!(
        err,
        Err(CodeError::BadCharacter {
            position,
            character: '!'
        })
    );
    let shown = CodeError::BadCharacter {
        position: 9,
        character: '\u{202E}',
    }
    .to_string();
    assert!(shown.contains("\\u{202e}"), "{shown}");
}

#[test]
fn every_deletion_and_insertion_is_an_error() {
    // Both outcomes occur: a length that cannot hold whole bytes is Malformed
    // (cut short or extra characters), a possible length fails the checksum.
    let (mut typos, mut malformed) = (0, 0);
    let mut tally = |err: CodeError| match err {
        CodeError::Checksum => typos += 1,
        CodeError::Malformed(message) => {
            assert_eq!(message, "the code is cut short or has extra characters");
            malformed += 1;
        }
        other => panic!("expected a typo or Malformed, got {other:?}"),
    };
    for text in sample_codes() {
        for index in VERSIONED_PREFIX.len()..text.len() {
            let mut deleted = text.clone();
            deleted.remove(index);
            tally(InvitationCode::decode(&deleted).expect_err("a deletion decoded"));
        }
        for index in VERSIONED_PREFIX.len()..=text.len() {
            for inserted in ALPHABET.chars() {
                let mut longer = text.clone();
                longer.insert(index, inserted);
                tally(InvitationCode::decode(&longer).expect_err("an insertion decoded"));
            }
        }
        // In the prefix the text stops being a version-1 code at all.
        for index in 0..VERSIONED_PREFIX.len() {
            let mut deleted = text.clone();
            deleted.remove(index);
            let err = InvitationCode::decode(&deleted).expect_err("a deletion decoded");
            assert!(matches!(
                err,
                CodeError::NotACode { .. } | CodeError::UnknownVersion(_)
            ));
        }
    }
    println!("deletions and insertions: {typos} checksum typos, {malformed} malformed");
    assert!(typos > 0 && malformed > 0);
}

/// Flips each pattern of bits within every window of `width` consecutive bits of
/// the payload and checksum, read in the order base32 writes them, and checks
/// the checksum never still matches. Undetected iff some nonzero combination of
/// single-bit effects cancels, so the effects must be linearly independent.
fn no_burst_passes(bytes: &[u8], width: usize) {
    let bits = bytes.len() * 8;
    let effect = |bit: usize| {
        let mut flipped = bytes.to_vec();
        flipped[bit / 8] ^= 0x80 >> (bit % 8);
        let (payload, stored) = flipped
            .split_last_chunk::<CHECKSUM_BYTES>()
            .unwrap_or_else(|| unreachable!());
        checksum(payload) ^ u32::from_be_bytes(*stored)
    };
    let effects: Vec<u32> = (0..bits).map(effect).collect();
    for start in 0..=bits - width {
        let mut basis: Vec<u32> = Vec::new();
        for &e in &effects[start..start + width] {
            let reduced = basis.iter().fold(e, |v, &b| v.min(v ^ b));
            assert_ne!(
                reduced, 0,
                "a burst at bit {start} of width {width} can pass the checksum"
            );
            basis.push(reduced);
            basis.sort_unstable_by(|a, b| b.cmp(a));
        }
    }
}

/// How far the guarantee reaches in this layout; it is 32 bits for a CRC-32 read
/// in its own bit order, but base32 writes each byte most significant bit first
/// and the CRC big-endian, which costs three bits. A change confined to five
/// neighbouring characters (25 bits) is therefore always caught.
const DETECTED_BURST_BITS: usize = 29;

#[test]
fn no_error_within_29_consecutive_bits_passes() {
    // The effect of an error depends only on its distance from the end and is
    // unchanged by whole bytes of distance within the payload, so checking every
    // window of one code of a few dozen bytes covers codes of every length.
    for text in sample_codes() {
        let bytes = BASE32_NOPAD_NOCASE.decode(&text.as_bytes()[VERSIONED_PREFIX.len()..]);
        let bytes = bytes.unwrap_or_else(|err| panic!("{err}"));
        no_burst_passes(&bytes, DETECTED_BURST_BITS);
    }
}

/// SplitMix64: random enough, and the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn char(&mut self) -> char {
        let pick =
            |rng: &mut Self, s: &str| s.chars().nth(rng.below(s.chars().count())).unwrap_or('a');
        match self.below(6) {
            0 => pick(self, ALPHABET),
            1 => pick(self, "AURA1 \t\r\n<>\"'`=-0189"),
            2 => char::from_u32(self.below(0x20) as u32).unwrap_or('\0'),
            3 => pick(
                self,
                "\u{202E}\u{200B}\u{2028}\u{FEFF}\u{85}é中😀ａ\u{FFFD}",
            ),
            _ => char::from_u32(self.below(0x11_0000) as u32).unwrap_or('\u{FFFD}'),
        }
    }
}

#[test]
fn ten_thousand_random_texts_are_refused_with_one_short_line() {
    let mut rng = Rng(0x00A0_5A1E);
    let valid = sample_codes();
    for round in 0..10_000 {
        let len = rng.below(8 * 1024 + 1);
        let text: String = match round % 3 {
            0 => (0..len).map(|_| rng.char()).collect(),
            1 => std::iter::once("aura1".to_owned())
                .chain((0..len).map(|_| ALPHABET[rng.below(32)..].chars().take(1).collect()))
                .collect(),
            _ => {
                let mut text = valid[round % valid.len()].clone();
                let mut insertions = 1 + rng.below(3);
                while insertions > 0 {
                    // Whitespace and a wrapping pair are forgiven; anything else is not.
                    let (at, c) = (rng.below(text.len() + 1), rng.char());
                    let forgiven =
                        c.is_whitespace() || WRAPPERS.iter().any(|&(l, r)| c == l || c == r);
                    if text.is_char_boundary(at) && !forgiven {
                        text.insert(at, c);
                        insertions -= 1;
                    }
                }
                text
            }
        };
        match InvitationCode::decode(&text) {
            Ok(code) => panic!("random text decoded: {text:?} as {code:?}"),
            Err(err) => assert_one_short_line(&err),
        }
    }
}

#[test]
fn random_bytes_of_every_length_are_refused_with_one_short_line() {
    let mut rng = Rng(0x000B_17E5);
    for len in 0..=8192 {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        let err = InvitationCode::decode(&text).expect_err("random bytes decoded");
        assert_one_short_line(&err);
    }
}
