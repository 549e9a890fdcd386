//! The text of group answers: the list, members, a log (one line per message: time,
//! author, text, and the delivery state of this device's own), and what a change did.
//! Every text that came from a peer is sanitized before it is printed.

use super::render::utc_minute;
use crate::agent::core::GroupAnswer;
use crate::groups::views::{Delivery, GroupView, LogView, MembersView, MessageView, PolicyView};
use crate::node::GroupReply;
use crate::ui::text::sanitize;

pub fn group(reply: &GroupReply) -> String {
    match reply {
        GroupReply::Done(answer) => done(answer),
        GroupReply::Invited(answer) => super::render_invite::invited(answer, 0),
        GroupReply::List(groups) => list(groups),
        GroupReply::Members(view) => members(view),
        GroupReply::Log(view) => log(view),
        GroupReply::Policy(view) => policy(view),
    }
}

fn done(answer: &GroupAnswer) -> String {
    match answer {
        GroupAnswer::Created { id, name } => {
            format!(
                "created group {} ({})\n",
                sanitize(name),
                &id[..id.len().min(8)]
            )
        }
        GroupAnswer::Sent { id } => format!("sent ({})\n", &id[..id.len().min(8)]),
        GroupAnswer::Queued => "queued: the node sends it as soon as it can\n".into(),
        GroupAnswer::Done(text) if text.is_empty() => String::new(),
        GroupAnswer::Done(text) => format!("{}\n", sanitize(text)),
    }
}

fn list(groups: &[GroupView]) -> String {
    if groups.is_empty() {
        return "no groups yet: `aura group create NAME --with PEER`\n".into();
    }
    let mut out = String::new();
    for group in groups {
        let name = if group.name.is_empty() {
            "(unnamed)".to_owned()
        } else {
            sanitize(&group.name)
        };
        let standing = if group.removed {
            "you were removed from this group".to_owned()
        } else {
            format!(
                "{} member{}, epoch {}, {} unread{}",
                group.members,
                if group.members == 1 { "" } else { "s" },
                group.epoch,
                group.unread,
                if group.pending > 0 {
                    format!(", {} waiting to be sent", group.pending)
                } else {
                    String::new()
                }
            )
        };
        out.push_str(&format!(
            "{name:<24} {standing}   {}\n",
            &group.id[..group.id.len().min(12)]
        ));
    }
    out
}

fn members(view: &MembersView) -> String {
    let mut out = format!(
        "{}: {} member{} at epoch {}, fingerprint {}\n",
        sanitize(&view.group.name),
        view.members.len(),
        if view.members.len() == 1 { "" } else { "s" },
        view.group.epoch,
        view.group.fingerprint
    );
    for member in &view.members {
        out.push_str(&format!(
            "  {:<24} {}{}\n",
            sanitize(&member.label),
            member.peer_id,
            if member.contact || member.you {
                ""
            } else {
                "  (not a contact)"
            }
        ));
    }
    out
}

fn capabilities(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

fn policy(view: &PolicyView) -> String {
    let mut out = format!("{}: ", sanitize(&view.group.name));
    if view.set {
        out.push_str(&format!(
            "every member may {}\n",
            capabilities(&view.default)
        ));
    } else {
        out.push_str("no policy: every member may add, remove, rename and change the policy\n");
    }
    for member in &view.members {
        let own = match &member.grant {
            Some(grant) => format!("   (own grant: {})", capabilities(grant)),
            None => String::new(),
        };
        out.push_str(&format!(
            "  {:<24} may {}{own}\n",
            sanitize(&member.label),
            capabilities(&member.effective)
        ));
    }
    if let Some(you) = view.members.iter().find(|member| member.you) {
        out.push_str(&format!("you may {}\n", capabilities(&you.effective)));
    }
    out
}

pub fn delivery(delivery: &Delivery) -> String {
    match delivery {
        Delivery::Pending(reason) => format!("pending: {}", sanitize(reason)),
        Delivery::Sent => "sent".into(),
        Delivery::Delivered { read, of } => format!("delivered to {read} of {of}"),
        Delivery::Failed(reason) => format!("failed: {}", sanitize(reason)),
    }
}

pub fn message_line(message: &MessageView) -> String {
    let mut line = format!(
        "{}  {}: {}",
        utc_minute(message.time_ms),
        sanitize(&message.author),
        sanitize(&message.text)
    );
    if let Some(state) = &message.delivery {
        line.push_str(&format!("   [{}]", delivery(state)));
    }
    line
}

fn log(view: &LogView) -> String {
    let mut out = String::new();
    if view.group.removed {
        out.push_str("(you were removed from this group)\n");
    }
    if view.messages.is_empty() {
        out.push_str("no messages yet\n");
    }
    for message in &view.messages {
        out.push_str(&message_line(message));
        out.push('\n');
    }
    out
}
