//! Branch choice: from the root, follow at each epoch the child commit whose subtree is
//! deepest, the lowest commit id among equals. This is the policy's rule applied at every
//! fork at once: a branch that is deeper from a fork wins there, and at equal depth the one
//! whose first commit after the fork has the lowest id.

use std::collections::HashMap;

use super::{CommitId, EpochId};

/// The tip of the winning branch of the tree rooted at `root`; `children` lists each
/// epoch's validated commits and the epochs they lead to. Terminates on any input: an epoch
/// reached twice (which hashes make impossible) is not followed again.
pub fn winning_tip(
    root: EpochId,
    children: &HashMap<EpochId, Vec<(CommitId, EpochId)>>,
) -> EpochId {
    let heights = heights(root, children);
    let mut tip = root;
    let mut visited = std::collections::HashSet::from([root]);
    while let Some((_, next)) = children
        .get(&tip)
        .into_iter()
        .flatten()
        .filter(|(_, child)| !visited.contains(child))
        .max_by(|(id_a, a), (id_b, b)| {
            let height = |epoch: &EpochId| heights.get(epoch).copied().unwrap_or(0);
            // Deeper first; at equal depth the lower id is the greater choice.
            height(a).cmp(&height(b)).then_with(|| id_b.cmp(id_a))
        })
    {
        visited.insert(*next);
        tip = *next;
    }
    tip
}

/// Each epoch's height: the most commits on a path from it down to a tip.
fn heights(
    root: EpochId,
    children: &HashMap<EpochId, Vec<(CommitId, EpochId)>>,
) -> HashMap<EpochId, usize> {
    // Iterative post-order: a long branch must not overflow the stack.
    let mut heights: HashMap<EpochId, usize> = HashMap::new();
    let mut stack = vec![(root, false)];
    let mut entered = std::collections::HashSet::new();
    while let Some((epoch, expanded)) = stack.pop() {
        let kids = children.get(&epoch).map(Vec::as_slice).unwrap_or_default();
        if expanded {
            let height = kids
                .iter()
                .filter_map(|(_, child)| heights.get(child))
                .map(|h| h + 1)
                .max()
                .unwrap_or(0);
            heights.insert(epoch, height);
            continue;
        }
        if !entered.insert(epoch) {
            continue;
        }
        stack.push((epoch, true));
        for (_, child) in kids {
            if !entered.contains(child) {
                stack.push((*child, false));
            }
        }
    }
    heights
}
