//! An independent model of branch choice, for tests: enumerate every path from the root to
//! a tip; the longest wins, and among the longest the one whose commit ids, read from the
//! root, come first in lexicographic order. Choosing the deeper branch at each fork, the
//! lower first commit at equal depth, picks exactly that path, by a different route.

use std::collections::HashMap;

use super::{CommitId, EpochId};

/// The winning tip over `commits` (`(commit, parent, child)`, every one valid).
pub fn winning_tip(root: EpochId, commits: &[(CommitId, EpochId, EpochId)]) -> EpochId {
    let mut children: HashMap<EpochId, Vec<(CommitId, EpochId)>> = HashMap::new();
    for (commit, parent, child) in commits {
        children.entry(*parent).or_default().push((*commit, *child));
    }
    let mut best: (Vec<CommitId>, EpochId) = (Vec::new(), root);
    let mut paths = vec![(Vec::new(), root)];
    while let Some((path, tip)) = paths.pop() {
        match children.get(&tip) {
            Some(next) if !next.is_empty() => {
                for (commit, child) in next {
                    let mut longer = path.clone();
                    longer.push(*commit);
                    paths.push((longer, *child));
                }
            }
            _ => {
                let better =
                    path.len() > best.0.len() || (path.len() == best.0.len() && path < best.0);
                if better {
                    best = (path, tip);
                }
            }
        }
    }
    best.1
}
