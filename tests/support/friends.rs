//! Forming relationships between running nodes, through real invitations: a node serves only
//! its contacts and the peers its web of trust reaches, so nodes meant to sync are made
//! contacts first.

use std::path::Path;

use aura::agent::core::InviteAnswer;
use aura::identity::DeviceIdentity;
use aura::node::{InviteOptions, InviteRequest, Node, NodeClient, NodeHandle, NodeOptions};
use aura::state::Store;

use super::poll::eventually;

/// A fresh one-use code of `inviter`'s, valid for an hour, its contacts starting at Low.
pub async fn invitation_code(inviter: &NodeClient) -> String {
    match inviter
        .invite(InviteRequest::Create(InviteOptions {
            valid_for_ms: Some(3_600_000),
            uses: 1,
            note: String::new(),
            approve: false,
            trust: aura::state::trust_level::TrustLevel::Low,
            group: None,
        }))
        .await
        .expect("create an invitation")
    {
        InviteAnswer::Created(created) => created.code,
        other => panic!("creating an invitation answered {other:?}"),
    }
}

/// `inviter` invites `invitee`, which accepts; returns once each lists the other as a contact.
pub async fn befriend(inviter: &NodeHandle, invitee: &NodeHandle) {
    let code = invitation_code(inviter).await;
    invitee
        .invite(InviteRequest::Accept(code))
        .await
        .expect("accept the invitation");
    let (inviter_id, invitee_id) = (inviter.peer_id().to_base58(), invitee.peer_id().to_base58());
    eventually("both sides to record the relationship", || async {
        let has = |contacts: Vec<aura::invite::views::ContactView>, id: &str| {
            contacts
                .iter()
                .any(|c| c.peer_id == id && c.ended.is_none())
        };
        has(inviter.contacts().await.expect("contacts"), &invitee_id)
            && has(invitee.contacts().await.expect("contacts"), &inviter_id)
    })
    .await;
}

/// Makes each neighbour in `chain` a contact of the next.
pub async fn befriend_chain(chain: &[&NodeHandle]) {
    for pair in chain.windows(2) {
        befriend(pair[0], pair[1]).await;
    }
}

/// The identity of a device that became a contact of `of` and then stopped, its store at
/// `store_path`: for a test that plays a contact turned bad with a bare swarm.
pub async fn contact_identity(store_path: &Path, of: &NodeHandle) -> libp2p::identity::Keypair {
    let insider = Node::start(NodeOptions::loopback(store_path).expect("options"))
        .await
        .expect("a node");
    befriend(of, &insider).await;
    let insider_id = insider.peer_id();
    drop(insider.stop().await.expect("stop"));
    eventually("the contact to disconnect", || async {
        !of.status()
            .await
            .expect("status")
            .net
            .connected
            .contains(&insider_id)
    })
    .await;
    let store = Store::open(store_path, "insider").expect("the store");
    DeviceIdentity::load(&store)
        .expect("the identity")
        .expect("an identity")
        .keypair()
        .clone()
}
