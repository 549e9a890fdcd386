//! Properties on random graphs, checked against a brute-force oracle that enumerates every
//! simple path from the root and applies the rules on its own (it shares no code with the
//! search, so a fault in the module's level arithmetic or ordering shows up as a mismatch).

use std::cmp::Reverse;
use std::collections::HashMap;

use proptest::prelude::*;

use crate::state::fact::DeviceKey;
use crate::state::trust_level::TrustLevel;

use super::*;

const MAX_NODES: usize = 30;
const MAX_OPS: usize = 120;
/// Few distinct times, so equal `since_ms` and equal ranks (the tie rules) come up often.
const TIMES: u64 = 8;

#[derive(Debug, Clone)]
enum Op {
    Insert(Edge),
    Revoke {
        from: DeviceKey,
        to: DeviceKey,
        at_ms: u64,
    },
}

/// Keys whose order differs from the node indices, so no rule can lean on insertion order.
fn key(index: usize) -> DeviceKey {
    DeviceKey([(index as u8).wrapping_mul(97) ^ 0x5a; 32])
}

fn edge(from: usize, to: usize, level: usize, since_ms: u64) -> Edge {
    Edge {
        from: key(from),
        to: key(to),
        level: TrustLevel::ALL[level],
        since_ms,
        source: if from == 0 {
            EdgeSource::Direct
        } else {
            EdgeSource::Attested { by: key(from) }
        },
    }
}

fn edge_strategy(nodes: usize) -> impl Strategy<Value = Edge> {
    (0..nodes, 0..nodes, 0..5usize, 0..TIMES)
        .prop_map(|(from, to, level, since_ms)| edge(from, to, level, since_ms))
}

fn op_strategy(nodes: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => edge_strategy(nodes).prop_map(Op::Insert),
        1 => (0..nodes, 0..nodes, 0..TIMES).prop_map(|(from, to, at_ms)| Op::Revoke {
            from: key(from),
            to: key(to),
            at_ms,
        }),
    ]
}

fn history() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2..=MAX_NODES).prop_flat_map(|nodes| {
        (
            Just(nodes),
            prop::collection::vec(op_strategy(nodes), 0..MAX_OPS),
        )
    })
}

fn build(ops: &[Op]) -> TrustGraph {
    let mut graph = TrustGraph::new(key(0));
    for op in ops {
        match op {
            Op::Insert(edge) => {
                graph.insert(edge.clone());
            }
            Op::Revoke { from, to, at_ms } => {
                graph.revoke(*from, *to, *at_ms);
            }
        }
    }
    graph
}

/// The oracle's view of the edges: per pair, the winning edge and whether it is revoked.
fn oracle_edges(ops: &[Op]) -> Vec<(Edge, bool)> {
    let precedence = |edge: &Edge| {
        let direct = edge.source == EdgeSource::Direct;
        (edge.since_ms, edge.level, direct, edge.from)
    };
    let mut winners: HashMap<(DeviceKey, DeviceKey), Edge> = HashMap::new();
    let mut revoked_at: HashMap<(DeviceKey, DeviceKey), u64> = HashMap::new();
    for op in ops {
        match op {
            Op::Insert(edge) if edge.from != edge.to => {
                let kept = winners.entry((edge.from, edge.to)).or_insert(edge.clone());
                if precedence(edge) > precedence(kept) {
                    *kept = edge.clone();
                }
            }
            Op::Insert(_) => {}
            Op::Revoke { from, to, at_ms } => {
                let latest = revoked_at.entry((*from, *to)).or_insert(*at_ms);
                *latest = (*latest).max(*at_ms);
            }
        }
    }
    winners
        .into_iter()
        .map(|(pair, edge)| {
            let revoked = revoked_at.get(&pair).is_some_and(|at| edge.since_ms <= *at);
            (edge, revoked)
        })
        .collect()
}

fn oracle_level(edges: &[Edge]) -> TrustLevel {
    let ranks = |level: TrustLevel| TrustLevel::ALL.iter().position(|l| *l == level).unwrap();
    let weakest = edges.iter().map(|edge| ranks(edge.level)).min().unwrap();
    TrustLevel::ALL[weakest.saturating_sub(edges.len() - 1)]
}

/// Every simple path from the root of at most `max_hops` hops, grouped by target.
fn all_simple_paths(edges: &[Edge], max_hops: usize) -> HashMap<DeviceKey, Vec<Vec<Edge>>> {
    fn extend(
        edges: &[Edge],
        max_hops: usize,
        path: &mut Vec<Edge>,
        visited: &mut Vec<DeviceKey>,
        found: &mut HashMap<DeviceKey, Vec<Vec<Edge>>>,
    ) {
        if path.len() == max_hops {
            return;
        }
        let at = *visited.last().unwrap();
        for edge in edges.iter().filter(|edge| edge.from == at) {
            if visited.contains(&edge.to) {
                continue;
            }
            path.push(edge.clone());
            visited.push(edge.to);
            found.entry(edge.to).or_default().push(path.clone());
            extend(edges, max_hops, path, visited, found);
            path.pop();
            visited.pop();
        }
    }
    let mut found = HashMap::new();
    extend(
        edges,
        max_hops,
        &mut Vec::new(),
        &mut vec![key(0)],
        &mut found,
    );
    found
}

/// The oracle's best paths: highest level, fewest hops, newest oldest edge, smallest keys.
fn oracle_best(paths: &[Vec<Edge>]) -> Vec<TrustPath> {
    let rank = |path: &Vec<Edge>| {
        let oldest = path.iter().map(|edge| edge.since_ms).min().unwrap();
        (oracle_level(path), Reverse(path.len()), oldest)
    };
    let Some(best) = paths.iter().map(rank).max() else {
        return Vec::new();
    };
    let mut tied: Vec<(Vec<DeviceKey>, TrustPath)> = paths
        .iter()
        .filter(|path| rank(path) == best)
        .map(|path| {
            let mut nodes = vec![key(0)];
            nodes.extend(path.iter().map(|edge| edge.to));
            let trust_path = TrustPath {
                edges: path.clone(),
                level: oracle_level(path),
            };
            (nodes, trust_path)
        })
        .collect();
    tied.sort_by(|a, b| a.0.cmp(&b.0));
    tied.into_iter()
        .take(MAX_PATHS_SHOWN)
        .map(|(_, path)| path)
        .collect()
}

fn live_edges(ops: &[Op]) -> Vec<Edge> {
    oracle_edges(ops)
        .into_iter()
        .filter(|(_, revoked)| !revoked)
        .map(|(edge, _)| edge)
        .collect()
}

fn stored_edges(ops: &[Op]) -> Vec<Edge> {
    oracle_edges(ops)
        .into_iter()
        .map(|(edge, _)| edge)
        .collect()
}

/// Everything a caller can observe, for comparing two graphs.
fn observe(graph: &TrustGraph, nodes: usize) -> Vec<String> {
    let mut seen = vec![format!("{} edges", graph.edge_count())];
    for limit in [1, DEFAULT_HOP_LIMIT, MAX_HOP_LIMIT] {
        seen.push(format!("{:?}", graph.reachable(limit)));
        for node in 0..=nodes {
            seen.push(format!("{:?}", graph.best_paths(key(node), limit)));
            for required in TrustLevel::ALL {
                let request = AuthRequest::new(key(node)).with_hop_limit(limit);
                seen.push(format!("{:?}", graph.evaluate(&request, required)));
            }
        }
    }
    seen
}

fn levels(graph: &TrustGraph, nodes: usize) -> Vec<TrustLevel> {
    (1..=MAX_HOP_LIMIT)
        .flat_map(|limit| (0..nodes).map(move |node| graph.level_of(key(node), limit)))
        .collect()
}

fn assert_is_path_to(path: &TrustPath, target: DeviceKey) {
    assert_eq!(path.edges.first().map(|edge| edge.from), Some(key(0)));
    assert_eq!(path.target(), Some(target));
    assert!(path.edges.windows(2).all(|pair| pair[0].to == pair[1].from));
    assert_eq!(path.level, oracle_level(&path.edges));
}

proptest! {
    #[test]
    fn the_search_agrees_with_brute_force((nodes, ops) in history(), limit in 0..=MAX_HOP_LIMIT + 2) {
        let graph = build(&ops);
        let used = usize::from(limit.min(MAX_HOP_LIMIT));
        let every_path = all_simple_paths(&live_edges(&ops), used);
        for node in 1..=nodes {
            let expected = every_path.get(&key(node)).map_or_else(Vec::new, |paths| oracle_best(paths));
            prop_assert_eq!(&graph.best_paths(key(node), limit), &expected, "node {}", node);
            let level = expected.first().map_or(TrustLevel::None, |path| path.level);
            prop_assert_eq!(graph.level_of(key(node), limit), level, "node {}", node);
        }
        prop_assert_eq!(graph.edge_count(), live_edges(&ops).len());
    }

    #[test]
    fn the_result_does_not_depend_on_arrival_order(
        (nodes, ops, shuffled) in history().prop_flat_map(|(nodes, ops)| {
            (Just(nodes), Just(ops.clone()), Just(ops).prop_shuffle())
        })
    ) {
        prop_assert_eq!(observe(&build(&ops), nodes), observe(&build(&shuffled), nodes));
    }

    #[test]
    fn adding_an_edge_never_lowers_a_level((nodes, ops) in history(), added in edge_strategy(MAX_NODES)) {
        let mut graph = build(&ops);
        // Replacing a live edge by a newer, weaker one is an update, not an addition.
        prop_assume!(graph.edge(added.from, added.to).is_none());
        let before = levels(&graph, MAX_NODES.max(nodes));
        graph.insert(added);
        let after = levels(&graph, MAX_NODES.max(nodes));
        for (index, (old, new)) in before.iter().zip(&after).enumerate() {
            prop_assert!(new >= old, "level {index} fell from {old:?} to {new:?}");
        }
    }

    #[test]
    fn revoking_an_edge_removes_exactly_what_depended_on_it(
        (nodes, ops) in history(), pick in any::<prop::sample::Index>(), delay in 0..3u64,
    ) {
        let mut live = live_edges(&ops);
        prop_assume!(!live.is_empty());
        live.sort_by_key(|edge| (edge.from, edge.to));
        let revoked = pick.get(&live).clone();
        let at_ms = revoked.since_ms + delay;
        let mut graph = build(&ops);
        prop_assert!(graph.revoke(revoked.from, revoked.to, at_ms));
        let without: Vec<Op> = ops
            .iter()
            .filter(|op| !matches!(op, Op::Insert(edge)
                if (edge.from, edge.to) == (revoked.from, revoked.to) && edge.since_ms <= at_ms))
            .cloned()
            .collect();
        let rebuilt = build(&without);
        prop_assert_eq!(graph.edge_count(), rebuilt.edge_count());
        for limit in 1..=MAX_HOP_LIMIT {
            for node in 0..=nodes {
                prop_assert_eq!(graph.best_paths(key(node), limit), rebuilt.best_paths(key(node), limit));
            }
        }
    }

    #[test]
    fn decisions_agree_with_the_oracle_and_carry_their_evidence(
        (nodes, ops) in history(), limit in 0..=MAX_HOP_LIMIT + 1, required in 0..5usize,
    ) {
        let graph = build(&ops);
        let required = TrustLevel::ALL[required];
        let sufficient = required.max(TrustLevel::Low);
        let used = usize::from(limit.min(MAX_HOP_LIMIT));
        let explained = usize::from(MAX_EXPLAINED_HOPS);
        let live_paths = all_simple_paths(&live_edges(&ops), explained);
        let any_paths = all_simple_paths(&stored_edges(&ops), explained);
        let names = |key: &DeviceKey| format!("{:02x}", key.0[0]);
        for node in 1..=nodes {
            let subject = key(node);
            let live: &[Vec<Edge>] = live_paths.get(&subject).map_or(&[], |paths| paths);
            let within = |hops: usize| live.iter().filter(move |path| path.len() <= hops);
            let level = within(used).map(|path| oracle_level(path)).max().unwrap_or(TrustLevel::None);
            let request = AuthRequest::new(subject).with_hop_limit(limit);
            let decision = graph.evaluate(&request, required);
            prop_assert_eq!(decision.level(), level);
            prop_assert_eq!(decision.is_allowed(), level >= sufficient);
            prop_assert!(!crate::trust::explain::explain_decision(&request, &decision, required, &names, 0).is_empty());
            match decision {
                Decision::Allow { path, .. } => assert_is_path_to(&path, subject),
                Decision::Deny { reason: DenyReason::NoPath, .. } => {
                    prop_assert!(!any_paths.contains_key(&subject));
                }
                Decision::Deny { reason: DenyReason::BelowRequired { path }, .. } => {
                    assert_is_path_to(&path, subject);
                    prop_assert_eq!(Some(path), graph.best_paths(subject, limit).first().cloned());
                }
                Decision::Deny { reason: DenyReason::HopLimit { hops_needed, path }, .. } => {
                    assert_is_path_to(&path, subject);
                    prop_assert!(hops_needed > used && hops_needed == path.hops());
                    prop_assert!(live.contains(&path.edges));
                    let threshold = if path.level >= sufficient { sufficient } else { TrustLevel::None };
                    prop_assert!(!within(hops_needed - 1).any(|shorter| oracle_level(shorter) >= threshold));
                }
                Decision::Deny { reason: DenyReason::Revoked { edge, revoked_at_ms, path }, .. } => {
                    assert_is_path_to(&path, subject);
                    prop_assert!(path.edges.contains(&edge));
                    prop_assert_eq!(graph.revoked_edge(edge.from, edge.to), Some((&edge, revoked_at_ms)));
                    prop_assert!(graph.edge(edge.from, edge.to).is_none());
                }
            }
        }
    }
}
