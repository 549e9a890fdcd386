//! Reads a profile's invitations and contacts out of the store, for the node and for the
//! CLI when no node runs.

use ed25519_dalek::SigningKey;
use libp2p::PeerId;

use super::book::{self, InvitationState, Profile, Relationship};
use super::handshake::own_context;
use super::names;
use super::views::{ContactView, InvitationStateView, InvitationView};
use crate::net::peer_of_device;
use crate::state::fact::DeviceKey;
use crate::state::{Store, StoreError};

/// The profile the device's own context describes.
pub fn profile(store: &Store, identity: &SigningKey) -> Result<Profile, StoreError> {
    let me = DeviceKey::of(identity);
    let facts = store.journal_facts_of(own_context(identity))?;
    Ok(Profile::from_facts(&me, &facts))
}

/// Every relationship the contacts table names, as its pairwise context says.
pub fn relationships(store: &Store, me: &DeviceKey) -> Result<Vec<Relationship>, StoreError> {
    let mut found = Vec::new();
    for row in store.contacts()? {
        let facts = store.journal_facts_of(row.context)?;
        if let Some(relationship) = book::relationship(me, row.context, &facts) {
            found.push(relationship);
        }
    }
    found.sort_by_key(|r| (r.since_ms, r.peer));
    Ok(found)
}

pub fn peer_id_text(device: &DeviceKey) -> String {
    peer_of_device(device).map_or_else(|| book::hex(&device.0), |peer| peer.to_string())
}

/// The contact list: relationships that have not ended (or all, with `include_ended`),
/// labelled so that no two read the same.
pub fn contact_views(
    relationships: &[Relationship],
    profile: &Profile,
    connected: Option<&[PeerId]>,
    include_ended: bool,
) -> Vec<ContactView> {
    let shown: Vec<&Relationship> = relationships
        .iter()
        .filter(|r| include_ended || r.ended.is_none())
        .collect();
    let names: Vec<(DeviceKey, String)> = shown
        .iter()
        .map(|r| {
            let name = profile.nickname(&r.peer).unwrap_or(&r.peer_name).to_owned();
            (r.peer, name)
        })
        .collect();
    let labels = names::labels(names.iter().map(|(device, name)| (*device, name.as_str())));
    shown
        .iter()
        .zip(labels)
        .map(|(r, (_, label))| ContactView {
            peer_id: peer_id_text(&r.peer),
            name: r.peer_name.clone(),
            nickname: profile.nickname(&r.peer).map(str::to_owned),
            label,
            since_ms: r.since_ms,
            online: connected.map(|connected| {
                peer_of_device(&r.peer).is_some_and(|peer| connected.contains(&peer))
            }),
            ended: r.ended,
        })
        .collect()
}

/// The invitations this device made, newest first. `waiting` are the acceptances a running
/// node holds for the user's answer: (invitation id, name, peer id).
pub fn invitation_views(
    profile: &Profile,
    relationships: &[Relationship],
    waiting: &[(String, String, String)],
    now_ms: u64,
) -> Vec<InvitationView> {
    let mut views: Vec<InvitationView> = profile
        .invitations
        .values()
        .map(|invitation| {
            let id = invitation.key.short_id();
            InvitationView {
                state: match invitation.state(now_ms) {
                    InvitationState::Open => InvitationStateView::Open,
                    InvitationState::UsedUp => InvitationStateView::UsedUp,
                    InvitationState::Revoked => InvitationStateView::Revoked,
                    InvitationState::Expired => InvitationStateView::Expired,
                },
                accepted_by: invitation
                    .redeemed
                    .iter()
                    .map(|redemption| {
                        let label = relationships
                            .iter()
                            .find(|r| r.peer == redemption.by)
                            .map(|r| profile.nickname(&r.peer).unwrap_or(&r.peer_name).to_owned())
                            .unwrap_or_else(|| names::sanitize_peer_name(&redemption.name));
                        (label, peer_id_text(&redemption.by), redemption.at_ms)
                    })
                    .collect(),
                awaiting_answer: waiting
                    .iter()
                    .filter(|(waiting_id, _, _)| *waiting_id == id)
                    .map(|(_, name, peer)| (name.clone(), peer.clone()))
                    .collect(),
                id,
                created_ms: invitation.created_ms,
                expires_at_ms: invitation.terms.expires_at_ms,
                uses: invitation.terms.uses,
                note: invitation.terms.note.clone(),
                approve: invitation.terms.approve,
            }
        })
        .collect();
    views.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(a.id.cmp(&b.id)));
    views
}
