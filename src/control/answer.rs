//! One way of answering a [`ControlRequest`], whoever answers it: the running node
//! ([`super::server`]) and the store when no node runs ([`super::offline`]) are two
//! [`Backend`]s of the same [`answer`], so that both check the same things in the same order
//! and fail with the same messages.

use libp2p::PeerId;

use super::protocol::{
    BudgetView, ControlFailure, ControlRequest, ControlResponse, IdentityView, PeerAddedView,
    PeerView, RemovedView, StatusView,
};
use crate::agent::core::InviteAnswer;
use crate::invite::views::{AcceptanceView, ContactView, InvitationsView};
use crate::net::peer_addr::{MAX_PEER_ADDR_BYTES, PeerAddr, echo};
use crate::node::saved_peers::SavedTarget;
use crate::node::{GroupReply, GroupRequest, InviteRequest, TrustQuery};
use crate::trust::views::TrustAnswer;

/// What answers control requests for a profile.
pub(crate) trait Backend {
    /// This device, or [`ControlFailure::NoIdentity`] for a profile without one.
    fn identity(&self) -> Result<IdentityView, ControlFailure>;
    /// This device's peer id: an address of it is refused.
    fn own_peer_id(&self) -> Result<PeerId, ControlFailure>;
    async fn status(&self) -> Result<StatusView, ControlFailure>;
    async fn add_peer(&self, addr: PeerAddr) -> Result<PeerAddedView, ControlFailure>;
    async fn peers(&self) -> Result<Vec<PeerView>, ControlFailure>;
    /// Forgets the saved addresses `target` matches; returns how many.
    async fn remove_peer(&self, target: &Target) -> Result<u64, ControlFailure>;
    async fn budgets(&self) -> Result<BudgetView, ControlFailure>;
    async fn invite(&self, request: InviteRequest) -> Result<InviteAnswer, ControlFailure>;
    async fn invitations(&self) -> Result<InvitationsView, ControlFailure>;
    async fn acceptance(&self, id: String) -> Result<Option<AcceptanceView>, ControlFailure>;
    async fn contacts(&self) -> Result<Vec<ContactView>, ControlFailure>;
    async fn trust(&self, query: TrustQuery) -> Result<TrustAnswer, ControlFailure>;
    async fn group(&self, request: GroupRequest) -> Result<GroupReply, ControlFailure>;
}

/// Answers `request` with `backend`; a refusal or failure is a [`ControlResponse::Failed`].
pub(crate) async fn answer(request: ControlRequest, backend: &impl Backend) -> ControlResponse {
    let answered = match request {
        ControlRequest::Id => backend.identity().map(ControlResponse::Id),
        ControlRequest::Status => match (backend.status().await, backend.contacts().await) {
            (Ok(mut status), Ok(contacts)) => {
                if let Some(network) = &mut status.network {
                    network.names = contacts
                        .into_iter()
                        .filter(|c| network.connected.contains(&c.peer_id))
                        .map(|c| (c.peer_id, c.label))
                        .collect();
                }
                Ok(ControlResponse::Status(status))
            }
            (Err(err), _) | (_, Err(err)) => Err(err),
        },
        ControlRequest::PeerAdd { addr } => add_peer(&addr, backend).await,
        ControlRequest::PeerList => match (backend.peers().await, backend.contacts().await) {
            (Ok(mut peers), Ok(contacts)) => {
                // The node and the store list in different orders; the user sees one.
                peers.sort_by(|a, b| a.addr.cmp(&b.addr));
                for peer in &mut peers {
                    peer.name = contacts
                        .iter()
                        .find(|c| peer.peer.as_deref() == Some(c.peer_id.as_str()))
                        .map(|c| c.label.clone());
                }
                Ok(ControlResponse::Peers(peers))
            }
            (Err(err), _) | (_, Err(err)) => Err(err),
        },
        ControlRequest::PeerRemove { target } => remove_peer(&target, backend).await,
        ControlRequest::Group(request) => backend.group(request).await.map(ControlResponse::Group),
        ControlRequest::BudgetList => backend.budgets().await.map(ControlResponse::Budgets),
        ControlRequest::Invite(request) => {
            backend.invite(request).await.map(ControlResponse::Invited)
        }
        ControlRequest::InviteList => backend
            .invitations()
            .await
            .map(ControlResponse::Invitations),
        ControlRequest::Acceptance { id } => backend
            .acceptance(id)
            .await
            .map(ControlResponse::Acceptance),
        ControlRequest::ContactList => backend.contacts().await.map(ControlResponse::Contacts),
        ControlRequest::Trust(query) => backend.trust(query).await.map(ControlResponse::Trust),
    };
    answered.unwrap_or_else(ControlResponse::Failed)
}

async fn add_peer(text: &str, backend: &impl Backend) -> Result<ControlResponse, ControlFailure> {
    check_addr_text(text)?;
    let own = backend.own_peer_id()?;
    let addr = PeerAddr::parse(text, &own)
        .map_err(|err| ControlFailure::InvalidAddress(err.to_string()))?;
    backend.add_peer(addr).await.map(ControlResponse::PeerAdded)
}

async fn remove_peer(
    text: &str,
    backend: &impl Backend,
) -> Result<ControlResponse, ControlFailure> {
    let target = parse_target(text)?;
    let removed = backend.remove_peer(&target).await?;
    if removed == 0 {
        return Err(ControlFailure::UnknownPeer(echo(&target.text())));
    }
    Ok(ControlResponse::PeersRemoved(RemovedView {
        target: target.text(),
        by_peer: matches!(target, Target::Peer(_)),
        removed,
    }))
}

/// The bytes of a peer id no key hashes to: an identity multihash of nothing.
const NOBODY: [u8; 2] = [0, 0];

/// Checks an address as far as it can be checked without knowing whose device this is:
/// everything `PeerAddr::parse` refuses except this device's own address. The CLI runs it
/// before it opens anything or asks the node, so that a bad address is refused the same way
/// whether a node runs or not and an over-long one is never sent.
pub fn check_addr_text(text: &str) -> Result<(), ControlFailure> {
    let invalid =
        |err: crate::net::peer_addr::PeerAddrError| ControlFailure::InvalidAddress(err.to_string());
    match PeerId::from_bytes(&NOBODY) {
        Ok(nobody) => PeerAddr::parse(text, &nobody).map(drop).map_err(invalid),
        // Not reached (the bytes are a valid peer id); the answer checks fully anyway.
        Err(_) => match text.trim().len() {
            len if len > MAX_PEER_ADDR_BYTES => {
                Err(invalid(crate::net::peer_addr::PeerAddrError::TooLong(len)))
            }
            _ => Ok(()),
        },
    }
}

/// What `aura peer remove` names: one saved address, or a peer (all of its addresses).
pub type Target = SavedTarget;

/// `text` as what `aura peer remove` names, or the reason it names nothing.
pub fn parse_target(text: &str) -> Result<Target, ControlFailure> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ControlFailure::InvalidTarget(
            "no peer given: name a saved address or a peer id (see `aura peer list`)".into(),
        ));
    }
    if text.len() > MAX_PEER_ADDR_BYTES {
        return Err(ControlFailure::InvalidTarget(format!(
            "the argument is {} bytes long; an address is at most {MAX_PEER_ADDR_BYTES}",
            text.len()
        )));
    }
    SavedTarget::parse(text).ok_or_else(|| {
        ControlFailure::InvalidTarget(format!(
            "`{}` is neither a peer id nor a multiaddr",
            echo(text)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_a_peer_id_or_an_address() {
        let peer = PeerId::random();
        let addr = format!("/ip4/127.0.0.1/tcp/1/p2p/{peer}");
        let relayed = format!(
            "/ip4/10.0.0.1/tcp/1/p2p/{}/p2p-circuit/p2p/{peer}",
            PeerId::random()
        );
        let by_peer = parse_target(&format!(" {peer} ")).unwrap();
        assert!(by_peer.matches(&addr) && by_peer.matches(&relayed));
        assert!(!by_peer.matches(&format!("/ip4/127.0.0.1/tcp/1/p2p/{}", PeerId::random())));
        let by_addr = parse_target(&addr).unwrap();
        assert!(by_addr.matches(&addr) && !by_addr.matches(&relayed));
        for bad in ["", "  ", "nonsense", &"/ip4/1.2.3.4".repeat(200)] {
            assert!(
                matches!(parse_target(bad), Err(ControlFailure::InvalidTarget(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_address_is_checked_before_the_device_is_known() {
        let peer = PeerId::random();
        assert!(check_addr_text(&format!("/ip4/127.0.0.1/tcp/1/p2p/{peer}")).is_ok());
        for bad in ["", "garbage", "/ip4/127.0.0.1/tcp/1", &"x".repeat(100_000)] {
            let err = check_addr_text(bad).unwrap_err().to_string();
            assert!(err.len() < 300, "{err}");
        }
    }
}
