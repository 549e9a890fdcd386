//! The text of invitations, acceptances and contacts, for the CLI.

use std::fmt::Write as _;

use super::render::utc_minute;
use crate::agent::core::InviteAnswer;
use crate::invite::views::{
    AcceptanceStage, AcceptanceView, ContactView, InvitationStateView, InvitationView,
    InvitationsView,
};
use crate::ui::text::sanitize;

/// What an invitation command printed. A created code is alone on its line, so that
/// `aura invite create | …` pipes just the code.
pub fn invited(answer: &InviteAnswer, now_ms: u64) -> String {
    match answer {
        InviteAnswer::Created(created) => format!("{}\n", created.code),
        InviteAnswer::Acceptance(view) => format!("{}\n", acceptance_line(view, now_ms)),
        InviteAnswer::Done(text) => format!("{}\n", sanitize(text)),
    }
}

fn expiry(at: Option<u64>) -> String {
    at.map_or_else(
        || "never expires".to_owned(),
        |at| format!("expires {} UTC", utc_minute(at)),
    )
}

/// One line on where an acceptance stands.
pub fn acceptance_line(view: &AcceptanceView, now_ms: u64) -> String {
    let inviter = short(&view.inviter);
    match &view.stage {
        AcceptanceStage::Waiting {
            next_try_ms,
            errors,
        } => {
            let mut line = format!(
                "waiting for the inviter {inviter} (next try in {} s; tried until {} UTC)",
                next_try_ms.saturating_sub(now_ms).div_ceil(1000),
                utc_minute(view.give_up_ms)
            );
            for (addr, err) in errors {
                let _ = write!(line, "\n    {}: {}", sanitize(addr), sanitize(err));
            }
            line
        }
        AcceptanceStage::Connecting => format!("connecting to the inviter {inviter}"),
        AcceptanceStage::Connected => format!("connected to the inviter {inviter}"),
        AcceptanceStage::Proving => format!("proving the invitation to {inviter}"),
        AcceptanceStage::AwaitingApproval { .. } => {
            format!("waiting for {inviter} to approve (asked again every few seconds)")
        }
        AcceptanceStage::Done { peer_name } => {
            let name = if peer_name.is_empty() {
                inviter.clone()
            } else {
                sanitize(peer_name)
            };
            format!("accepted: {name} is now a contact")
        }
        AcceptanceStage::Failed { reason } => format!("failed: {}", sanitize(reason)),
    }
}

fn short(peer: &str) -> String {
    let tail: String = peer
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

fn state(view: &InvitationView) -> &'static str {
    match view.state {
        InvitationStateView::Open => "open",
        InvitationStateView::UsedUp => "used",
        InvitationStateView::Revoked => "revoked",
        InvitationStateView::Expired => "expired",
    }
}

/// `aura invite list`.
pub fn invitations(view: &InvitationsView, now_ms: u64) -> String {
    let mut out = String::new();
    if view.mine.is_empty() {
        out.push_str("no invitations made yet (`aura invite create`)\n");
    } else {
        out.push_str("invitations you made\n");
    }
    for invitation in &view.mine {
        let used = invitation.accepted_by.len();
        let _ = write!(
            out,
            "  {}  {:<7}  {used}/{} used  created {} UTC  {}",
            invitation.id,
            state(invitation),
            invitation.uses,
            utc_minute(invitation.created_ms),
            expiry(invitation.expires_at_ms)
        );
        if invitation.approve {
            out.push_str("  (you approve each)");
        }
        if !invitation.note.is_empty() {
            let _ = write!(out, "  \"{}\"", sanitize(&invitation.note));
        }
        out.push('\n');
        for (label, peer, at) in &invitation.accepted_by {
            let _ = writeln!(
                out,
                "      accepted by {} ({}) on {} UTC",
                sanitize(label),
                short(peer),
                utc_minute(*at)
            );
        }
        for (name, peer) in &invitation.awaiting_answer {
            let _ = writeln!(
                out,
                "      {} ({}) waits for your answer: `aura invite approve {}` or `decline {}`",
                sanitize(name),
                short(peer),
                invitation.id,
                invitation.id
            );
        }
    }
    if !view.theirs.is_empty() {
        out.push_str("invitations you accepted\n");
    }
    for acceptance in &view.theirs {
        let _ = writeln!(
            out,
            "  {}  {}",
            acceptance.id,
            acceptance_line(acceptance, now_ms)
        );
    }
    out
}

/// `aura contact list`.
pub fn contacts(contacts: &[ContactView]) -> String {
    if contacts.is_empty() {
        return "no contacts yet: `aura invite create` makes a code to give someone, `aura invite accept CODE` takes one\n".to_owned();
    }
    let name_of = |c: &ContactView| {
        if c.name.is_empty() {
            "(no name)".to_owned()
        } else {
            sanitize(&c.name)
        }
    };
    let width = contacts
        .iter()
        .map(|c| name_of(c).chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let nick_width = contacts
        .iter()
        .filter_map(|c| c.nickname.as_deref())
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut out = format!(
        "{:<width$}  {:<nick_width$}  {:<16}  {:<6}  PEER ID\n",
        "NAME", "NICKNAME", "SINCE (UTC)", "ONLINE"
    );
    for contact in contacts {
        let online = match contact.online {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        let nickname = contact
            .nickname
            .as_deref()
            .map(sanitize)
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<width$}  {nickname:<nick_width$}  {:<16}  {online:<6}  {}",
            name_of(contact),
            utc_minute(contact.since_ms),
            contact.peer_id
        );
    }
    out
}

/// `aura trust list|path|why-not`.
pub fn trust(answer: &crate::trust::views::TrustAnswer) -> String {
    use crate::trust::views::TrustAnswer;
    match answer {
        TrustAnswer::List(entries) if entries.is_empty() => {
            "nobody is trusted yet: contacts start at low (`aura invite create`)\n".to_owned()
        }
        TrustAnswer::List(entries) => {
            let width = entries
                .iter()
                .map(|e| e.label.chars().count())
                .max()
                .unwrap_or(0)
                .max(4);
            let mut out = format!(
                "{:<width$}  {:<8}  {:<24}  {:<7}  PEER ID\n",
                "NAME", "LEVEL", "HOW", "SHARED"
            );
            for entry in entries {
                let how = match &entry.via {
                    Some(via) => format!("via {} ({} hops)", sanitize(via), entry.hops),
                    None => "direct".to_owned(),
                };
                let shared = match entry.shared {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                };
                let _ = writeln!(
                    out,
                    "{:<width$}  {:<8}  {how:<24}  {shared:<7}  {}",
                    sanitize(&entry.label),
                    entry.level,
                    entry.peer_id
                );
            }
            out
        }
        TrustAnswer::Paths(paths) => paths
            .iter()
            .map(|path| format!("{}\n", sanitize(&path.words)))
            .collect(),
        TrustAnswer::Explained(lines) => lines
            .iter()
            .map(|line| format!("{}\n", sanitize(line)))
            .collect(),
    }
}
