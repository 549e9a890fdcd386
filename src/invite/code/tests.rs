#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::arithmetic_side_effects
)]

use super::*;

use proptest::prelude::*;

pub(super) const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz234567";
const ME: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
const RELAY: &str = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq";

pub(super) fn addr(text: &str) -> Multiaddr {
    match text.parse() {
        Ok(addr) => addr,
        Err(err) => panic!("test address {text}: {err}"),
    }
}

pub(super) fn invitation(addrs: &[&str], note: &str) -> InvitationCode {
    InvitationCode {
        target: InvitationTarget::Contact,
        inviter: [7; 32],
        secret: InvitationSecret::from_bytes([9; SECRET_BYTES]),
        expires_at_secs: Some(1_900_000_000),
        addrs: addrs.iter().map(|text| addr(text)).collect(),
        note: note.to_owned(),
    }
}

pub(super) fn encoded(code: &InvitationCode) -> String {
    match code.encode() {
        Ok(text) => text,
        Err(err) => panic!("encode: {err}"),
    }
}

/// A short code and a longer one, so that checks see more than one length.
pub(super) fn sample_codes() -> Vec<String> {
    vec![
        encoded(&invitation(&["/ip4/127.0.0.1/tcp/40123"], "")),
        encoded(&invitation(
            &[
                "/ip4/198.51.100.2/tcp/4001",
                "/ip6/2001:db8::2/udp/4001/quic-v1",
                &format!("/ip4/198.51.100.9/tcp/4001/p2p/{RELAY}/p2p-circuit"),
            ],
            "from Ada, for the chess club",
        )),
    ]
}

/// The text of a version-1 code around a payload that may be wrong in any way
/// but carries the right checksum.
fn with_checksum(payload: &[u8]) -> String {
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&checksum(payload).to_be_bytes());
    format!(
        "aura1{}",
        BASE32_NOPAD_NOCASE.encode(&bytes).to_ascii_lowercase()
    )
}

/// A payload up to its address count, as the encoder writes it.
fn payload_head(target: u8, addr_count: u8) -> Vec<u8> {
    let mut payload = vec![target];
    payload.extend_from_slice(&[7; 32]);
    payload.extend_from_slice(&[9; SECRET_BYTES]);
    payload.extend_from_slice(&0u32.to_be_bytes());
    payload.push(addr_count);
    payload
}

fn push_addr(payload: &mut Vec<u8>, addr: &Multiaddr) {
    let bytes = addr.to_vec();
    payload.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
    payload.extend_from_slice(&bytes);
}

/// A valid payload with the given note bytes.
fn payload_with_note(note: &[u8]) -> Vec<u8> {
    let mut payload = payload_head(0, 1);
    push_addr(&mut payload, &addr("/ip4/198.51.100.2/tcp/4001"));
    payload.push(u8::try_from(note.len()).unwrap_or(u8::MAX));
    payload.extend_from_slice(note);
    payload
}

fn malformed_message(text: &str) -> String {
    match InvitationCode::decode(text) {
        Err(CodeError::Malformed(message)) => message,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

pub(super) fn assert_one_short_line(err: &CodeError) {
    let message = err.to_string();
    assert!(!message.is_empty());
    assert!(message.chars().count() <= 200, "too long: {message}");
    assert!(
        !message.chars().any(is_unprintable),
        "not one printable line: {message:?}"
    );
}

#[test]
fn the_versioned_prefix_is_the_prefix_and_the_version() {
    assert_eq!(VERSIONED_PREFIX, format!("{CODE_PREFIX}{CODE_VERSION}"));
}

fn arb_addr() -> impl Strategy<Value = Multiaddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| addr(&format!(
            "/ip4/{}/tcp/{port}",
            std::net::Ipv4Addr::from(ip)
        ))),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| {
            addr(&format!(
                "/ip6/{}/udp/{port}/quic-v1",
                std::net::Ipv6Addr::from(ip)
            ))
        }),
        ("[a-z]{1,60}", any::<u16>())
            .prop_map(|(name, port)| addr(&format!("/dns/{name}.example/tcp/{port}"))),
        Just(addr(&format!(
            "/ip4/198.51.100.9/tcp/4001/p2p/{RELAY}/p2p-circuit"
        ))),
    ]
}

fn arb_note() -> impl Strategy<Value = String> {
    // Any printable text, cut at a character boundary to fit the cap.
    "\\PC{0,160}".prop_map(|note| {
        let mut end = note.len().min(MAX_NOTE_BYTES);
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note[..end].to_owned()
    })
}

proptest! {
    #[test]
    fn every_code_within_the_caps_round_trips(
        inviter in any::<[u8; 32]>(),
        secret in any::<[u8; SECRET_BYTES]>(),
        expires_at_secs in prop_oneof![Just(None), (1..=u64::from(u32::MAX)).prop_map(Some)],
        addrs in proptest::collection::vec(arb_addr(), 1..=MAX_CODE_ADDRS),
        note in arb_note(),
    ) {
        let code = InvitationCode {
            target: InvitationTarget::Contact,
            inviter,
            secret: InvitationSecret::from_bytes(secret),
            expires_at_secs,
            addrs,
            note,
        };
        let text = code.encode().map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert!(text.chars().count() <= MAX_CODE_CHARS);
        prop_assert_eq!(InvitationCode::decode(&text), Ok(code.clone()));
        let mangled = format!("<{}>", text.to_uppercase().as_bytes().chunks(20)
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect::<Vec<_>>().join("\r\n   "));
        prop_assert_eq!(InvitationCode::decode(&mangled), Ok(code));
    }
}

#[test]
fn a_code_with_every_field_at_its_cap_fits_the_text_cap() {
    let long_addr = format!("/dns/{}.example/tcp/1", "a".repeat(240));
    let mut code = invitation(&[long_addr.as_str(); MAX_CODE_ADDRS], &"é".repeat(80));
    code.expires_at_secs = Some(u64::from(u32::MAX));
    let text = encoded(&code);
    println!("a code at every cap: {} characters", text.len());
    assert!(text.len() <= MAX_CODE_CHARS);
    assert_eq!(InvitationCode::decode(&text), Ok(code));
}

#[test]
fn encoded_lengths() {
    let loopback = encoded(&invitation(&["/ip4/127.0.0.1/tcp/40123"], ""));
    let quic = encoded(&invitation(
        &["/ip6/2001:db8:85a3::8a2e:370:7334/udp/40123/quic-v1"],
        &"n".repeat(40),
    ));
    println!(
        "one loopback TCP address, no note: {} characters: {loopback}",
        loopback.len()
    );
    println!(
        "one IPv6 QUIC address, 40-byte note: {} characters: {quic}",
        quic.len()
    );
    assert_eq!(loopback.len(), 114);
    assert_eq!(quic.len(), 202);
}

#[test]
fn every_truncation_of_a_payload_is_malformed_and_names_its_field() {
    let payload = payload_with_note(b"hi");
    for len in 0..payload.len() {
        let message = malformed_message(&with_checksum(&payload[..len]));
        assert!(message.ends_with("is cut short"), "{message}");
    }
    assert_eq!(
        malformed_message(&with_checksum(&[])),
        "the code's target is cut short"
    );
    assert_eq!(
        malformed_message(&with_checksum(&payload[..20])),
        "the code's inviter key is cut short"
    );
    assert_eq!(
        malformed_message(&with_checksum(&payload[..51])),
        "the code's expiry is cut short"
    );
    assert_eq!(
        malformed_message(&with_checksum(&payload[..58])),
        "the code's address 1 is cut short"
    );
    assert_eq!(
        malformed_message(&with_checksum(&payload[..payload.len() - 1])),
        "the code's note is cut short"
    );
}

#[test]
fn fields_that_pass_the_checksum_but_break_the_format_are_malformed() {
    let mut trailing = payload_with_note(b"hi");
    trailing.push(0);
    assert_eq!(
        malformed_message(&with_checksum(&trailing)),
        "the code has 1 unexpected bytes after its note"
    );

    let no_address = [payload_head(0, 0), vec![0]].concat();
    assert_eq!(
        malformed_message(&with_checksum(&no_address)),
        "the code has no address to reach the inviter"
    );

    let mut too_many = payload_head(0, 9);
    for port in 0..9 {
        push_addr(
            &mut too_many,
            &addr(&format!("/ip4/198.51.100.2/tcp/{port}")),
        );
    }
    too_many.push(0);
    assert_eq!(
        malformed_message(&with_checksum(&too_many)),
        "the code has 9 addresses; at most 8 are allowed"
    );

    let empty_address = [payload_head(0, 1), vec![0, 0]].concat();
    assert_eq!(
        malformed_message(&with_checksum(&empty_address)),
        "the code's address 1 is empty"
    );

    let bad_address = [payload_head(0, 1), vec![3, 0xff, 0xff, 0xff, 0]].concat();
    assert_eq!(
        malformed_message(&with_checksum(&bad_address)),
        "the code's address 1 is not a valid network address"
    );

    let mut with_peer_id = payload_head(0, 1);
    push_addr(
        &mut with_peer_id,
        &addr(&format!("/ip4/198.51.100.2/tcp/1/p2p/{ME}")),
    );
    with_peer_id.push(0);
    assert_eq!(
        malformed_message(&with_checksum(&with_peer_id)),
        "the code's address 1 ends with a peer id, which the inviter key already gives"
    );

    let long_note = payload_with_note(&[b'n'; MAX_NOTE_BYTES + 1]);
    assert_eq!(
        malformed_message(&with_checksum(&long_note)),
        "the code's note is 161 bytes; at most 160 are allowed"
    );
    let not_utf8 = payload_with_note(&[0xc3, 0x28]);
    assert_eq!(
        malformed_message(&with_checksum(&not_utf8)),
        "the code's note is not valid UTF-8"
    );
    let escape = payload_with_note(b"\x1b[2Jhi");
    assert_eq!(
        malformed_message(&with_checksum(&escape)),
        "the code's note contains control characters"
    );

    let newer = payload_head(2, 1);
    let err = InvitationCode::decode(&with_checksum(&newer));
    assert_eq!(err, Err(CodeError::UnknownTarget(2)));
    assert_eq!(
        err.map_err(|err| err.to_string()),
        Err("invites to something this aura does not know (target 2): update aura".to_owned())
    );
}

#[test]
fn texts_that_are_not_version_1_codes() {
    let decode = InvitationCode::decode;
    assert_eq!(decode(""), Err(CodeError::Empty));
    assert_eq!(decode(" \n\t "), Err(CodeError::Empty));
    assert_eq!(decode("<>"), Err(CodeError::Empty));
    assert_eq!(decode("aura2abcdef"), Err(CodeError::UnknownVersion(2)));
    assert_eq!(decode("AURA0abcdef"), Err(CodeError::UnknownVersion(0)));
    assert_eq!(decode("aura23abcdef"), Err(CodeError::UnknownVersion(23)));
    assert_eq!(
        decode(&format!("aura9{}", "9".repeat(30))),
        Err(CodeError::UnknownVersion(u32::MAX))
    );
    assert_eq!(
        decode("aura2").map_err(|err| err.to_string()),
        Err("an invitation code of version 2; this aura reads version 1: update aura".to_owned())
    );
    assert_eq!(
        decode("aura1"),
        Err(malformed("the code is cut short or has extra characters"))
    );

    let not_a_code = decode("  hello there, this is a long message").map_err(|err| err.to_string());
    assert_eq!(
        not_a_code,
        Err("this is not an Aura invitation code: it should start with aura1 (it starts with \"hello there, thi…\")"
            .to_owned())
    );
    for text in [
        "aura",
        "aurax",
        "https://example.org",
        "\u{1b}[31mred\u{202E}",
    ] {
        let err = decode(text).expect_err("not a code decoded");
        assert!(matches!(err, CodeError::NotACode { .. }));
        assert!(!err.is_typo());
        assert_one_short_line(&err);
    }

    let long = "a".repeat(MAX_CODE_CHARS + 1);
    assert_eq!(
        decode(&long),
        Err(CodeError::TooLong {
            chars: 4097,
            cap: MAX_CODE_CHARS
        })
    );
    assert!(
        decode(&"é".repeat(MAX_CODE_CHARS))
            .is_err_and(|err| !matches!(err, CodeError::TooLong { .. }))
    );
}

#[test]
fn pasted_codes_decode_in_any_case_wrapped_and_quoted() {
    let code = invitation(&["/ip4/198.51.100.2/tcp/4001"], "hi");
    let text = encoded(&code);
    let (head, tail) = text.split_at(40);
    let pastes = [
        text.to_uppercase(),
        format!("{}{}", head.to_uppercase(), tail),
        format!("\n  {head}\r\n  {tail}\n"),
        format!("<{text}>"),
        format!("\"{text}\""),
        format!("'{text}'"),
        format!("`{text}`"),
        format!("\u{201C}{text}\u{201D}"),
        format!(" < {head}\n{tail} > "),
    ];
    for paste in pastes {
        assert_eq!(
            InvitationCode::decode(&paste),
            Ok(code.clone()),
            "{paste:?}"
        );
    }
    // Only one pair, and only a matching one.
    assert!(InvitationCode::decode(&format!("<<{text}>>")).is_err());
    assert!(InvitationCode::decode(&format!("<{text}\"")).is_err());
}

#[test]
fn encode_refuses_each_field_over_its_cap() {
    let base = invitation(&["/ip4/198.51.100.2/tcp/4001"], "");
    let refused = |change: &dyn Fn(&mut InvitationCode)| {
        let mut code = base.clone();
        change(&mut code);
        code.encode().expect_err("over a cap encoded")
    };
    assert_eq!(refused(&|code| code.addrs.clear()), EncodeError::NoAddress);
    assert_eq!(
        refused(&|code| code.addrs = vec![addr("/ip4/198.51.100.2/tcp/1"); 9]),
        EncodeError::TooManyAddresses { count: 9, cap: 8 }
    );
    assert_eq!(
        refused(&|code| code.addrs.push(Multiaddr::empty())),
        EncodeError::EmptyAddress { index: 2 }
    );
    let long = addr(&format!("/dns/{}.example/tcp/1", "a".repeat(250)));
    assert_eq!(
        refused(&|code| code.addrs = vec![long.clone()]),
        EncodeError::AddressTooLong {
            index: 1,
            bytes: long.len(),
            cap: 255
        }
    );
    assert_eq!(
        refused(&|code| code.addrs = vec![addr(&format!("/ip4/198.51.100.2/tcp/1/p2p/{ME}"))]),
        EncodeError::AddressHasPeerId { index: 1 }
    );
    assert_eq!(
        refused(&|code| code.note = "é".repeat(81)),
        EncodeError::NoteTooLong {
            bytes: 162,
            cap: 160
        }
    );
    assert_eq!(
        refused(&|code| code.note = "a\nb".to_owned()),
        EncodeError::NoteHasControlCharacter
    );
    assert_eq!(
        refused(&|code| code.expires_at_secs = Some(0)),
        EncodeError::ExpiryIsZero
    );
    assert_eq!(
        refused(&|code| code.expires_at_secs = Some(1 << 32)),
        EncodeError::ExpiryTooLate {
            secs: 1 << 32,
            cap: u32::MAX
        }
    );

    let mut at_caps = base.clone();
    at_caps.note = "n".repeat(MAX_NOTE_BYTES);
    at_caps.expires_at_secs = Some(u64::from(u32::MAX));
    assert!(at_caps.encode().is_ok());
}

#[test]
fn the_secret_never_shows_in_debug_output() {
    let mut code = invitation(&["/ip4/198.51.100.2/tcp/4001"], "");
    code.secret = InvitationSecret::from_bytes(*b"SECRET-SECRET-42");
    let debug = format!("{code:?}");
    assert!(debug.contains("InvitationSecret(..)"));
    assert!(
        !debug.contains("83, 69, 67") && !debug.contains("SECRET"),
        "{debug}"
    );
    assert_ne!(
        InvitationSecret::from_bytes([1; SECRET_BYTES]),
        InvitationSecret::from_bytes([2; SECRET_BYTES])
    );
}
