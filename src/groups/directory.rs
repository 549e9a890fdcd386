//! Groups as the store describes them: which group a name or an id prefix means, the list,
//! a group's members and its log. Read by the node's shell and by the CLI alike.

use std::collections::HashMap;

use super::payload::Payload;
use super::policy::{self, GroupPolicy};
use super::views::{
    Delivery, GroupView, LogView, MemberPolicyView, MemberView, MembersView, MessageView,
    PolicyView,
};
use crate::invite::book::hex;
use crate::invite::directory::peer_id_text;
use crate::invite::names::short_peer;
use crate::state::fact::{ContextId, DeviceKey};
use crate::state::hlc::Hlc;
use crate::state::store::{GroupRow, Store, StoreError};

/// Most messages one log shows.
pub const MAX_LOG_MESSAGES: usize = 10_000;
/// Bytes of the epoch authenticator shown as the group's fingerprint.
pub const FINGERPRINT_BYTES: usize = 8;
/// Fewest characters of an id prefix that name a group.
pub const MIN_ID_PREFIX: usize = 4;

/// Which group `target` names: its name (without regard to case) or a unique prefix of
/// its id.
pub fn resolve(rows: &[GroupRow], target: &str) -> Result<ContextId, String> {
    let wanted = target.trim();
    let shown = crate::invite::names::sanitize_peer_name(wanted);
    if wanted.is_empty() {
        return Err("name a group: its name or the start of its id".into());
    }
    let folded = wanted.to_lowercase();
    let by_name: Vec<&GroupRow> = rows
        .iter()
        .filter(|row| row.name.to_lowercase() == folded)
        .collect();
    if let [one] = by_name.as_slice() {
        return Ok(one.context);
    }
    if by_name.len() > 1 {
        return Err(format!(
            "{} groups are called `{shown}`: use the start of the id (see `aura group list`)",
            by_name.len()
        ));
    }
    let by_id: Vec<&GroupRow> = if wanted.len() >= MIN_ID_PREFIX {
        rows.iter()
            .filter(|row| hex(&row.context.0).starts_with(&folded))
            .collect()
    } else {
        Vec::new()
    };
    match by_id.as_slice() {
        [one] => Ok(one.context),
        [] => Err(format!(
            "no group is called or has an id starting with `{shown}` (see `aura group list`)"
        )),
        many => Err(format!(
            "`{shown}` starts the ids of {} groups: use more of it",
            many.len()
        )),
    }
}

/// Labels of the devices this device knows by name (its contacts), and itself.
pub fn label(device: &DeviceKey, me: &DeviceKey, names: &HashMap<DeviceKey, String>) -> String {
    if device == me {
        return "you".into();
    }
    names
        .get(device)
        .cloned()
        .unwrap_or_else(|| format!("peer {}", short_peer(device)))
}

fn view(store: &Store, row: &GroupRow, me: &DeviceKey) -> Result<GroupView, StoreError> {
    let unread = store.group_messages_after(&row.context, row.read_up_to, me)?;
    let pending = store
        .outbox()?
        .iter()
        .filter(|o| o.context == row.context)
        .count();
    Ok(GroupView {
        id: hex(&row.context.0),
        name: row.name.clone(),
        members: row.roster.len(),
        epoch: row.epoch,
        fingerprint: hex(&row.authenticator[..row.authenticator.len().min(FINGERPRINT_BYTES)]),
        unread,
        pending,
        removed: row.removed,
    })
}

/// Every group this device is or was in, by name.
pub fn list(store: &Store, me: &DeviceKey) -> Result<Vec<GroupView>, StoreError> {
    let mut rows = store.groups()?;
    rows.sort_by_key(|row| row.name.to_lowercase());
    rows.iter().map(|row| view(store, row, me)).collect()
}

fn row_of(store: &Store, context: &ContextId) -> Result<Option<GroupRow>, StoreError> {
    Ok(store
        .groups()?
        .into_iter()
        .find(|row| row.context == *context))
}

pub fn members(
    store: &Store,
    me: &DeviceKey,
    names: &HashMap<DeviceKey, String>,
    context: &ContextId,
) -> Result<Option<MembersView>, StoreError> {
    let Some(row) = row_of(store, context)? else {
        return Ok(None);
    };
    let members = row
        .roster
        .iter()
        .map(|device| MemberView {
            peer_id: peer_id_text(device),
            label: label(device, me, names),
            you: device == me,
            contact: names.contains_key(device),
        })
        .collect();
    Ok(Some(MembersView {
        group: view(store, &row, me)?,
        members,
    }))
}

/// A group's policy as `policy` says, for each member of the roster the store holds.
pub fn policy(
    store: &Store,
    me: &DeviceKey,
    names: &HashMap<DeviceKey, String>,
    context: &ContextId,
    policy: &GroupPolicy,
) -> Result<Option<PolicyView>, StoreError> {
    let Some(row) = row_of(store, context)? else {
        return Ok(None);
    };
    let named = |set: &crate::state::capability::CapabilitySet| {
        policy::names(set).into_iter().map(str::to_owned).collect()
    };
    let members = row
        .roster
        .iter()
        .map(|device| {
            let grant = policy
                .grants()
                .find(|(granted, _)| *granted == device)
                .map(|(_, grant)| named(grant));
            MemberPolicyView {
                peer_id: peer_id_text(device),
                label: label(device, me, names),
                you: device == me,
                grant,
                effective: named(&policy.effective(device)),
            }
        })
        .collect();
    Ok(Some(PolicyView {
        group: view(store, &row, me)?,
        set: *policy != GroupPolicy::default(),
        default: named(policy.default_grant()),
        members,
    }))
}

/// The policy a group's stored state holds, read with this device's key (`device_seed`):
/// what the CLI shows when no node runs.
pub fn stored_policy(row: &GroupRow, device_seed: &[u8; 32]) -> Result<GroupPolicy, String> {
    if row.removed {
        return Err("you were removed from this group".into());
    }
    let members = super::memberships::Memberships::restore(&row.snapshot, device_seed)
        .map_err(|err| format!("this group's state could not be read: {err}"))?;
    let group = members
        .group()
        .ok_or_else(|| "you were removed from this group".to_owned())?;
    Ok(
        GroupPolicy::of(&group.group_context().extensions)
            .unwrap_or_else(|_| GroupPolicy::nobody()),
    )
}

/// Why a message still in the outbox of a group the device is out of can never go.
pub const NOT_SENT_OUT_OF_GROUP: &str = "you were no longer in the group when it was to go";

/// The last `limit` messages of a group, then this device's messages still pending.
pub fn log(
    store: &Store,
    me: &DeviceKey,
    names: &HashMap<DeviceKey, String>,
    context: &ContextId,
    limit: usize,
) -> Result<Option<LogView>, StoreError> {
    let Some(row) = row_of(store, context)? else {
        return Ok(None);
    };
    let others = row.roster.iter().filter(|d| *d != me).count();
    let mut messages = Vec::new();
    for message in store.group_messages(context, limit.min(MAX_LOG_MESSAGES))? {
        let Ok(Payload::Text(text)) = Payload::decode(&message.payload) else {
            continue;
        };
        let you = message.author == *me;
        let delivery = if you {
            let read = store
                .readers(context, &message.id)?
                .iter()
                .filter(|reader| *reader != me)
                .count();
            Some(if read == 0 {
                Delivery::Sent
            } else {
                Delivery::Delivered {
                    read,
                    of: others.max(read),
                }
            })
        } else {
            None
        };
        messages.push(MessageView {
            time_ms: Hlc::from_u64(message.time).physical_ms(),
            id: hex(&message.id.0),
            author: label(&message.author, me, names),
            you,
            text,
            delivery,
        });
    }
    for pending in store.outbox()?.iter().filter(|o| o.context == *context) {
        let Ok(Payload::Text(text)) = Payload::decode(&pending.payload) else {
            continue;
        };
        let delivery = if row.removed {
            Delivery::Failed(NOT_SENT_OUT_OF_GROUP.into())
        } else {
            Delivery::Pending("waiting to be sent".into())
        };
        messages.push(MessageView {
            time_ms: pending.submitted_ms,
            id: String::new(),
            author: "you".into(),
            you: true,
            text,
            delivery: Some(delivery),
        });
    }
    Ok(Some(LogView {
        group: view(store, &row, me)?,
        messages,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use zeroize::Zeroizing;

    use super::*;
    use crate::state::store::OutboxRow;

    #[test]
    fn a_message_left_in_the_outbox_of_a_group_the_device_is_out_of_shows_as_failed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store.redb"), "p").unwrap();
        let me = DeviceKey([1; 32]);
        let context = ContextId([9; 32]);
        let mut row = GroupRow {
            context,
            joined_ms: 1,
            updated_ms: 1,
            sent_since_update: 0,
            epoch: 3,
            authenticator: vec![0; 32],
            removed: false,
            name: "climbers".into(),
            roster: vec![me, DeviceKey([2; 32])],
            read_up_to: None,
            snapshot: Zeroizing::new(Vec::new()),
        };
        store.put_group(&row).unwrap();
        store
            .put_outbox(&OutboxRow {
                context,
                submitted_ms: 5,
                sequence: 0,
                payload: Payload::Text("see you at the crag".into()).encode(),
            })
            .unwrap();
        let delivery = |store: &Store| {
            let view = log(store, &me, &HashMap::new(), &context, 10)
                .unwrap()
                .unwrap();
            assert_eq!(view.messages.len(), 1, "the message stays in the log");
            assert_eq!(view.messages[0].text, "see you at the crag");
            view.messages[0].delivery.clone()
        };
        assert!(matches!(delivery(&store), Some(Delivery::Pending(_))));
        row.removed = true;
        row.roster = vec![DeviceKey([2; 32])];
        store.put_group(&row).unwrap();
        assert_eq!(
            delivery(&store),
            Some(Delivery::Failed(NOT_SENT_OUT_OF_GROUP.into()))
        );
    }
}
