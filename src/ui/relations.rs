//! The view model of names, invitations, contacts and trust: what the node last said about
//! them, with every text a peer could have written already sanitized, and how their states
//! read.

use super::text::sanitize;
use crate::control::render::utc_minute;
use crate::invite::views::{
    AcceptanceStage, AcceptanceView, ContactView, CreatedView, InvitationStateView, InvitationView,
    InvitationsView,
};
use crate::trust::views::{EdgeView, PathView, TrustEntryView};

/// How many notices the main screen keeps; older ones give way, so a chatty peer cannot fill
/// the screen or the memory.
pub const MAX_NOTICES: usize = 6;

const MS_PER_SECOND: u64 = 1000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relations {
    /// This device's display name; `None` until the node said.
    pub profile_name: Option<String>,
    pub invitations: InvitationsView,
    pub contacts: Vec<ContactView>,
    /// The invitation made last, shown with its code until another is made.
    pub created: Option<CreatedView>,
    /// The code the user accepted last, and how far that acceptance is.
    pub accepting: Option<Accepting>,
    /// What came of the last request about an invitation or a contact.
    pub outcome: Option<Outcome>,
    /// Each contact and each peer a path reaches, with its level, as the node last said.
    pub trust: Vec<TrustEntryView>,
    /// The paths that explain one peer's level, the last asked for.
    pub explained: Option<Explained>,
}

/// Why one peer is at its level: its best paths, or the node's reason for not saying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    pub peer_id: String,
    pub answer: Result<Vec<PathView>, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepting {
    /// Handed to the node; no answer yet.
    Sending,
    Progress(AcceptanceView),
    /// The node refused the code at once (malformed, a typo, expired…): its reason.
    Refused(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done(String),
    Failed(String),
}

impl Relations {
    /// A new state of the acceptance the user started, unless it is an older word about it:
    /// the node's answer can arrive after the events that followed it.
    pub fn acceptance_moved(&mut self, view: AcceptanceView) {
        let view = sanitize_acceptance(view);
        match &self.accepting {
            Some(Accepting::Progress(shown)) if shown.id == view.id && shown.stage.is_final() => {}
            Some(Accepting::Progress(shown)) if shown.id != view.id => {}
            Some(Accepting::Refused(_)) | None => {}
            Some(Accepting::Sending | Accepting::Progress(_)) => {
                self.accepting = Some(Accepting::Progress(view));
            }
        }
    }
}

pub fn sanitize_acceptance(view: AcceptanceView) -> AcceptanceView {
    let stage = match view.stage {
        AcceptanceStage::Waiting {
            next_try_ms,
            errors,
        } => AcceptanceStage::Waiting {
            next_try_ms,
            errors: errors
                .iter()
                .map(|(addr, err)| (sanitize(addr), sanitize(err)))
                .collect(),
        },
        AcceptanceStage::Done { peer_name } => AcceptanceStage::Done {
            peer_name: sanitize(&peer_name),
        },
        AcceptanceStage::Failed { reason } => AcceptanceStage::Failed {
            reason: sanitize(&reason),
        },
        other => other,
    };
    AcceptanceView {
        id: sanitize(&view.id),
        inviter: sanitize(&view.inviter),
        note: sanitize(&view.note),
        stage,
        ..view
    }
}

pub fn sanitize_invitations(view: InvitationsView) -> InvitationsView {
    InvitationsView {
        mine: view.mine.into_iter().map(sanitize_invitation).collect(),
        theirs: view.theirs.into_iter().map(sanitize_acceptance).collect(),
    }
}

fn sanitize_invitation(view: InvitationView) -> InvitationView {
    InvitationView {
        id: sanitize(&view.id),
        note: sanitize(&view.note),
        accepted_by: view
            .accepted_by
            .iter()
            .map(|(label, peer, at)| (sanitize(label), sanitize(peer), *at))
            .collect(),
        awaiting_answer: view
            .awaiting_answer
            .iter()
            .map(|(name, peer)| (sanitize(name), sanitize(peer)))
            .collect(),
        ..view
    }
}

pub fn sanitize_contact(view: ContactView) -> ContactView {
    ContactView {
        peer_id: sanitize(&view.peer_id),
        name: sanitize(&view.name),
        nickname: view.nickname.as_deref().map(sanitize),
        label: sanitize(&view.label),
        ..view
    }
}

pub fn sanitize_trust_entry(view: TrustEntryView) -> TrustEntryView {
    TrustEntryView {
        peer_id: sanitize(&view.peer_id),
        label: sanitize(&view.label),
        level: sanitize(&view.level),
        via: view.via.as_deref().map(sanitize),
        direct: view.direct.as_deref().map(sanitize),
        ..view
    }
}

pub fn sanitize_path(view: PathView) -> PathView {
    PathView {
        level: sanitize(&view.level),
        words: sanitize(&view.words),
        edges: view
            .edges
            .into_iter()
            .map(|edge| EdgeView {
                from: sanitize(&edge.from),
                to: sanitize(&edge.to),
                level: sanitize(&edge.level),
                date: sanitize(&edge.date),
                attested_by: edge.attested_by.as_deref().map(sanitize),
            })
            .collect(),
    }
}

pub fn sanitize_created(view: CreatedView) -> CreatedView {
    CreatedView {
        id: sanitize(&view.id),
        code: sanitize(&view.code),
        addrs: view.addrs.iter().map(|addr| sanitize(addr)).collect(),
        ..view
    }
}

/// When something expires, as a reader wants it.
pub fn expiry_text(expires_at_ms: Option<u64>) -> String {
    match expires_at_ms {
        Some(at) => format!("expires {} UTC", utc_minute(at)),
        None => "never expires".to_owned(),
    }
}

pub fn uses_text(uses: u32) -> String {
    if uses == 1 {
        "1 use".to_owned()
    } else {
        format!("{uses} uses")
    }
}

pub fn invitation_state_text(state: InvitationStateView) -> &'static str {
    match state {
        InvitationStateView::Open => "open",
        InvitationStateView::UsedUp => "used up",
        InvitationStateView::Revoked => "revoked",
        InvitationStateView::Expired => "expired",
    }
}

/// Whole seconds from `now_ms` until `at_ms`, rounded up so that "0 s" means now.
fn seconds_until(at_ms: u64, now_ms: u64) -> u64 {
    at_ms.saturating_sub(now_ms).div_ceil(MS_PER_SECOND)
}

/// Where an acceptance stands, in one line; the per-address errors of a wait are listed apart.
pub fn stage_text(stage: &AcceptanceStage, now_ms: u64) -> String {
    match stage {
        AcceptanceStage::Waiting { next_try_ms, .. } => format!(
            "waiting for the inviter (next try in {} s)",
            seconds_until(*next_try_ms, now_ms)
        ),
        AcceptanceStage::Connecting => "connecting …".to_owned(),
        AcceptanceStage::Connected => "connected".to_owned(),
        AcceptanceStage::Proving => "proving the invitation …".to_owned(),
        AcceptanceStage::AwaitingApproval { next_try_ms } => format!(
            "awaiting the inviter's approval (next check in {} s)",
            seconds_until(*next_try_ms, now_ms)
        ),
        AcceptanceStage::Done { peer_name } => format!("done: {peer_name} is now a contact"),
        AcceptanceStage::Failed { reason } => format!("failed: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acceptance(id: &str, stage: AcceptanceStage) -> AcceptanceView {
        AcceptanceView {
            id: id.into(),
            inviter: "12D3KooW".into(),
            note: String::new(),
            started_ms: 0,
            give_up_ms: 0,
            stage,
        }
    }

    #[test]
    fn a_late_answer_does_not_undo_a_finished_acceptance_or_replace_another() {
        let mut relations = Relations {
            accepting: Some(Accepting::Sending),
            ..Relations::default()
        };
        let done = AcceptanceStage::Done {
            peer_name: "bob".into(),
        };
        relations.acceptance_moved(acceptance("a1", done.clone()));
        relations.acceptance_moved(acceptance("a1", AcceptanceStage::Connecting));
        relations.acceptance_moved(acceptance("b2", AcceptanceStage::Connected));
        let Some(Accepting::Progress(shown)) = &relations.accepting else {
            panic!("{:?}", relations.accepting);
        };
        assert_eq!((shown.id.as_str(), &shown.stage), ("a1", &done));
    }

    #[test]
    fn reasons_and_names_from_peers_are_sanitized() {
        let view = sanitize_acceptance(acceptance(
            "a1",
            AcceptanceStage::Failed {
                reason: "declined\u{1b}[2J".into(),
            },
        ));
        assert_eq!(
            view.stage,
            AcceptanceStage::Failed {
                reason: "declined\u{FFFD}[2J".into()
            }
        );
    }

    #[test]
    fn waiting_counts_whole_seconds_up_to_the_next_try() {
        let stage = AcceptanceStage::Waiting {
            next_try_ms: 12_001,
            errors: Vec::new(),
        };
        assert_eq!(
            stage_text(&stage, 1_000),
            "waiting for the inviter (next try in 12 s)"
        );
        assert!(stage_text(&stage, 20_000).ends_with("(next try in 0 s)"));
    }
}
