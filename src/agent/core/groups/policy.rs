//! The group's policy in the node: before a change of a group is asked of the membership,
//! the guard chain's capability check runs with what this device may do in that group (its
//! own capabilities met with the group policy's grant for it), and a change it may not make
//! is refused at once, with the reason. Changes of the policy itself are made here too.

use super::super::Core;
use super::{GroupAnswer, refused};
use crate::groups::member::Intent;
use crate::groups::policy::{self, GroupPolicy, PolicyChange};
use crate::node::NodeError;
use crate::protocol::guard::Denial;
use crate::state::fact::{ContextId, DeviceKey};

/// What the user is told a capability lets one do.
fn action(capability: &str) -> &'static str {
    match capability {
        policy::ADD => "add members to this group",
        policy::REMOVE => "remove members of this group",
        policy::RENAME => "rename this group",
        _ => "change this group's policy",
    }
}

impl Core {
    /// The policy of `group` at the epoch this device follows, if it is in the group; a
    /// policy that does not read lets nobody do anything.
    pub fn group_policy(&self, group: &ContextId) -> Option<GroupPolicy> {
        let held = self.groups.held.get(group)?;
        if held.members.is_removed() {
            return None;
        }
        let group = held.members.group()?;
        Some(
            GroupPolicy::of(&group.group_context().extensions)
                .unwrap_or_else(|_| GroupPolicy::nobody()),
        )
    }

    /// The guard chain's capability check for a change of `group` that needs `capability`.
    pub(super) fn may_change(
        &self,
        group: ContextId,
        capability: &'static str,
    ) -> Result<(), NodeError> {
        let granted = self
            .group_policy(&group)
            .map(|policy| policy.effective(&self.device))
            .unwrap_or_default();
        match self.guard.authorize_group_change(&granted, capability) {
            Ok(()) => Ok(()),
            Err(Denial::MissingCapability { .. }) => Err(refused(format!(
                "you may not {}: the group's policy does not grant you `{capability}`",
                action(capability)
            ))),
            Err(denial) => Err(refused(denial.to_string())),
        }
    }

    /// Asks for `change` of `group`'s policy, once this device may make it and the policy
    /// it leads to still lets some member change the policy.
    pub(super) fn set_policy(
        &mut self,
        group: ContextId,
        change: PolicyChange,
    ) -> Result<GroupAnswer, NodeError> {
        let roster = self.held_mut(group)?.row.roster.clone();
        self.may_change(group, policy::POLICY)?;
        let named: Option<&DeviceKey> = match &change {
            PolicyChange::Default(_) => None,
            PolicyChange::Grant { device, .. } | PolicyChange::Reset(device) => Some(device),
        };
        if named.is_some_and(|device| !roster.contains(device)) {
            return Err(refused("not a member of this group"));
        }
        let current = self
            .group_policy(&group)
            .unwrap_or_else(GroupPolicy::nobody);
        let next = current
            .changed(&change, &roster)
            .map_err(|err| refused(err.to_string()))?;
        if next == current {
            return Ok(GroupAnswer::Done(
                "the group's policy already says so".into(),
            ));
        }
        if !roster
            .iter()
            .any(|device| next.allows(device, policy::POLICY))
        {
            return Err(refused(
                "after this change no member could change the policy again: keep `policy` in the default grant and in some member's own",
            ));
        }
        self.held_mut(group)?.members.ask(Intent::SetPolicy(change));
        Ok(GroupAnswer::Done(
            "changing the group's policy; it holds once the commit lands".into(),
        ))
    }
}
