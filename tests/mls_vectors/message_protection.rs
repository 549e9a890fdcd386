//! `message-protection.json`.

use super::*;

#[derive(Deserialize)]
struct MessageProtectionCase {
    cipher_suite: u16,
    group_id: Hex,
    epoch: u64,
    tree_hash: Hex,
    confirmed_transcript_hash: Hex,
    signature_priv: Hex,
    signature_pub: Hex,
    encryption_secret: Hex,
    sender_data_secret: Hex,
    membership_key: Hex,
    proposal: Hex,
    proposal_priv: Hex,
    proposal_pub: Hex,
    commit: Hex,
    commit_priv: Hex,
    commit_pub: Hex,
    application: Hex,
    application_priv: Hex,
}

#[test]
fn message_protection_vectors() {
    use aura::crypto::Secret;
    use aura::crypto::commit::HandshakeBodies;
    use aura::crypto::framing::{
        AuthenticatedContent, ContentType, FramedContent, Sender, WireFormat,
    };
    use aura::crypto::group_context::GroupContext;
    use aura::crypto::private_message::{self, PrivateMessage};
    use aura::crypto::public_message::PublicMessage;
    use aura::crypto::secret_tree::SecretTree;
    use aura::crypto::tree_math::LeafIndex;

    // The vector's group has two members and leaf 1 sends.
    const SENDER: LeafIndex = LeafIndex(1);
    // The product's handshake decoder: the vector's bodies (Remove and
    // PreSharedKey proposals, a commit without path) must all pass it.
    let skipper = HandshakeBodies;

    let cases: Vec<MessageProtectionCase> = load("message-protection.json");
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.cipher_suite == CIPHER_SUITE_ID)
        .collect();
    run_cases("message-protection.json", &cases, |case| {
        let group_context = GroupContext {
            cipher_suite: CIPHER_SUITE_ID,
            group_id: case.group_id.to_vec(),
            epoch: case.epoch,
            tree_hash: case.tree_hash.to_vec(),
            confirmed_transcript_hash: case.confirmed_transcript_hash.to_vec(),
            extensions: Vec::new(),
        };
        let signing_key = check(
            "signature priv",
            SignaturePrivateKey::from_seed(&case.signature_priv),
        )?;
        let verifying_key = check(
            "signature pub",
            SignaturePublicKey::from_bytes(&case.signature_pub),
        )?;
        let sender_data_secret = Secret::from_slice(&case.sender_data_secret);
        let membership_key = Secret::from_slice(&case.membership_key);
        let fresh_tree = || {
            SecretTree::new(
                CipherSuite::AURA,
                &Secret::from_slice(&case.encryption_secret),
                TreeSize::new(2).expect("two-leaf tree"),
            )
        };

        let application_body = {
            let content = FramedContent::application(
                Vec::new(),
                0,
                Sender::Member(SENDER),
                Vec::new(),
                &case.application,
            )
            .map_err(|e| e.to_string())?;
            content.body
        };
        // (name, content type, expected encoded body, PrivateMessage, PublicMessage)
        type ProtectedMessage<'a> = (&'a str, ContentType, Vec<u8>, &'a Hex, Option<&'a Hex>);
        let messages: [ProtectedMessage<'_>; 3] = [
            (
                "proposal",
                ContentType::Proposal,
                case.proposal.to_vec(),
                &case.proposal_priv,
                Some(&case.proposal_pub),
            ),
            (
                "commit",
                ContentType::Commit,
                case.commit.to_vec(),
                &case.commit_priv,
                Some(&case.commit_pub),
            ),
            (
                "application",
                ContentType::Application,
                application_body,
                &case.application_priv,
                None,
            ),
        ];

        for (name, content_type, body, private_bytes, public_bytes) in messages {
            // 1. The vector's PrivateMessage decrypts to the expected, validly signed content.
            let message = check(
                &format!("{name}_priv decode"),
                PrivateMessage::from_mls_message_bytes(private_bytes),
            )?;
            let received = check(
                &format!("{name}_priv unprotect"),
                // The product's receiving path: the key is consumed only once the
                // sender's signature verified.
                private_message::unprotect_verified(
                    &message,
                    &mut fresh_tree(),
                    &sender_data_secret,
                    &skipper,
                    |content| content.verify(&group_context, &verifying_key),
                ),
            )?;
            if received.content.sender != Sender::Member(SENDER)
                || received.content.content_type != content_type
            {
                return Err(format!("{name}_priv: unexpected sender or content type"));
            }
            expect_eq(&format!("{name}_priv body"), &received.content.body, &body)?;
            check(
                &format!("{name}_priv signature"),
                received.verify(&group_context, &verifying_key),
            )?;
            let confirmation_tag = received.auth.confirmation_tag.clone();

            // 2. The vector's PublicMessage carries a valid membership tag and signature.
            if let Some(public_bytes) = public_bytes {
                let message = check(
                    &format!("{name}_pub decode"),
                    PublicMessage::from_mls_message_bytes(public_bytes, &skipper),
                )?;
                let received = check(
                    &format!("{name}_pub membership tag"),
                    message.unprotect(&group_context, &membership_key),
                )?;
                expect_eq(&format!("{name}_pub body"), &received.content.body, &body)?;
                check(
                    &format!("{name}_pub signature"),
                    received.verify(&group_context, &verifying_key),
                )?;
                let reencoded = check(
                    &format!("{name}_pub encode"),
                    message.to_mls_message_bytes(),
                )?;
                expect_eq(&format!("{name}_pub re-encoding"), &reencoded, public_bytes)?;
            }

            // 3. What we protect ourselves unprotects to the same content.
            let content = FramedContent {
                group_id: case.group_id.to_vec(),
                epoch: case.epoch,
                sender: Sender::Member(SENDER),
                authenticated_data: Vec::new(),
                content_type,
                body: body.clone(),
            };
            let signed = check(
                &format!("{name} sign"),
                AuthenticatedContent::sign(
                    WireFormat::PrivateMessage,
                    content.clone(),
                    &group_context,
                    &signing_key,
                    confirmation_tag.clone(),
                ),
            )?;
            let protected = check(
                &format!("{name} protect"),
                private_message::protect(
                    &signed,
                    &mut fresh_tree(),
                    &sender_data_secret,
                    [9, 8, 7, 6],
                ),
            )?;
            let wire = check(&format!("{name} encode"), protected.to_mls_message_bytes())?;
            let decoded = check(
                &format!("{name} decode own"),
                PrivateMessage::from_mls_message_bytes(&wire),
            )?;
            let reopened = check(
                &format!("{name} unprotect own"),
                // The product's receiving path: the key is consumed only once the
                // sender's signature verified.
                private_message::unprotect_verified(
                    &decoded,
                    &mut fresh_tree(),
                    &sender_data_secret,
                    &skipper,
                    |content| content.verify(&group_context, &verifying_key),
                ),
            )?;
            if reopened != signed {
                return Err(format!("{name}: private round trip differs"));
            }
            check(
                &format!("{name} own signature"),
                reopened.verify(&group_context, &verifying_key),
            )?;

            if content_type != ContentType::Application {
                let signed = check(
                    &format!("{name} sign public"),
                    AuthenticatedContent::sign(
                        WireFormat::PublicMessage,
                        content,
                        &group_context,
                        &signing_key,
                        confirmation_tag,
                    ),
                )?;
                let public = check(
                    &format!("{name} protect public"),
                    PublicMessage::protect(&signed, &group_context, &membership_key),
                )?;
                let wire = check(
                    &format!("{name} encode public"),
                    public.to_mls_message_bytes(),
                )?;
                let decoded = check(
                    &format!("{name} decode own public"),
                    PublicMessage::from_mls_message_bytes(&wire, &skipper),
                )?;
                let reopened = check(
                    &format!("{name} unprotect own public"),
                    decoded.unprotect(&group_context, &membership_key),
                )?;
                if reopened != signed {
                    return Err(format!("{name}: public round trip differs"));
                }
            }
        }
        Ok(())
    });
}
