//! What front ends are shown of groups: the list, a group's members, its log with the
//! delivery state of this device's messages. Built from the store by
//! [`super::directory`], the same whether a running node or the CLI reads it.

use serde::{Deserialize, Serialize};

/// One group in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    /// The group's id (its context), in hex.
    pub id: String,
    pub name: String,
    pub members: usize,
    pub epoch: u64,
    /// The start of the epoch's authenticator in hex: members that show the same one hold
    /// the same keys (compare it out of band to rule out a man in the middle).
    pub fingerprint: String,
    /// Messages of others after the last one shown to the user.
    pub unread: usize,
    /// This device's messages waiting to be sent.
    pub pending: usize,
    /// The branch that removed this device won.
    pub removed: bool,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub peer_id: String,
    pub label: String,
    pub you: bool,
    pub contact: bool,
}

/// Where one of this device's messages stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivery {
    /// In the outbox: not sent yet, and why.
    Pending(String),
    /// Written and gossiped; no member has said it read it yet.
    Sent,
    /// Read by `read` of the `of` other members.
    Delivered { read: usize, of: usize },
    /// It can never go, and why (the device left the group, or was removed, before it
    /// went). It stays in the log, with its text.
    Failed(String),
}

/// One message of a group's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// The fact's time, ms since the Unix epoch (pending: when it was submitted).
    pub time_ms: u64,
    /// The fact's id in hex (empty while pending).
    pub id: String,
    pub author: String,
    pub you: bool,
    pub text: String,
    /// For this device's messages.
    pub delivery: Option<Delivery>,
}

/// A group's log, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogView {
    pub group: GroupView,
    pub messages: Vec<MessageView>,
}

/// A group's members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersView {
    pub group: GroupView,
    pub members: Vec<MemberView>,
}

/// What one member may do in a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPolicyView {
    pub peer_id: String,
    pub label: String,
    pub you: bool,
    /// Its own grant, when it has one.
    pub grant: Option<Vec<String>>,
    /// What it may do: the meet of the default grant and its own.
    pub effective: Vec<String>,
}

/// A group's policy: who may add, remove, rename and change the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub group: GroupView,
    /// Whether the group has a policy; without one every member may do everything.
    pub set: bool,
    /// The grant every member holds.
    pub default: Vec<String>,
    pub members: Vec<MemberPolicyView>,
}
