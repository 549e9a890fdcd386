//! Hand-built cases for each rule; the properties on random graphs are in `proptests`.

use crate::state::fact::DeviceKey;
use crate::state::trust_level::TrustLevel;

use super::*;
use crate::trust::explain::{explain_decision, explain_path, utc_date};

use TrustLevel::{Complete, High, Low, Medium};

const DAY_MS: u64 = 86_400_000;
const DEC_2_2026_MS: u64 = 1_796_169_600_000;

fn key(id: u8) -> DeviceKey {
    DeviceKey([id; 32])
}

const ROOT: u8 = 0;
const BOB: u8 = 1;
const CAROL: u8 = 2;
const DAVE: u8 = 3;
const ERIN: u8 = 4;
const FRANK: u8 = 5;

fn direct(to: u8, level: TrustLevel, since_ms: u64) -> Edge {
    Edge {
        from: key(ROOT),
        to: key(to),
        level,
        since_ms,
        source: EdgeSource::Direct,
    }
}

fn attested(from: u8, to: u8, level: TrustLevel, since_ms: u64) -> Edge {
    Edge {
        from: key(from),
        to: key(to),
        level,
        since_ms,
        source: EdgeSource::Attested { by: key(from) },
    }
}

fn graph(edges: &[Edge]) -> TrustGraph {
    let mut graph = TrustGraph::new(key(ROOT));
    for edge in edges {
        graph.insert(edge.clone());
    }
    graph
}

fn name(key: &DeviceKey) -> String {
    let names = ["you", "Bob", "Carol", "Dave", "Erin", "Frank"];
    names
        .get(usize::from(key.0[0]))
        .map_or_else(|| format!("#{}", key.0[0]), |name| (*name).to_owned())
}

fn node_sequence(path: &TrustPath) -> Vec<u8> {
    let mut nodes = vec![ROOT];
    nodes.extend(path.edges.iter().map(|edge| edge.to.0[0]));
    nodes
}

/// root → 1 → 2 → … → `hops`, every edge at `level`.
fn chain(hops: u8, level: TrustLevel) -> TrustGraph {
    let mut edges = vec![direct(1, level, 1)];
    edges.extend((1..hops).map(|from| attested(from, from + 1, level, 1)));
    graph(&edges)
}

#[test]
fn the_weakest_edge_bounds_the_path() {
    let graph = graph(&[direct(BOB, High, 1), attested(BOB, CAROL, Medium, 1)]);
    let paths = graph.best_paths(key(CAROL), DEFAULT_HOP_LIMIT);
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].bottleneck(), Some(Medium));
    assert_eq!(paths[0].level, Low, "Medium, one extra hop");
    assert_eq!(graph.level_of(key(CAROL), DEFAULT_HOP_LIMIT), Low);
}

#[test]
fn each_extra_hop_costs_exactly_one_level() {
    let graph = chain(5, Complete);
    let expected = [Complete, High, Medium, Low, TrustLevel::None];
    for (target, level) in (1..=5).zip(expected) {
        assert_eq!(
            graph.level_of(key(target), MAX_HOP_LIMIT),
            level,
            "node {target}"
        );
        let path = &graph.best_paths(key(target), MAX_HOP_LIMIT)[0];
        assert_eq!((path.hops(), path.level), (usize::from(target), level));
    }
    assert_eq!(attenuate(Low, 9), TrustLevel::None, "floored at None");
}

#[test]
fn a_path_beyond_the_hop_limit_is_not_used() {
    let graph = chain(4, Complete);
    assert_eq!(graph.level_of(key(4), 3), TrustLevel::None);
    assert!(graph.best_paths(key(4), 3).is_empty());
    assert_eq!(graph.level_of(key(4), 4), Low);
    let decision = graph.evaluate(&AuthRequest::new(key(4)), Low);
    let Decision::Deny {
        level: TrustLevel::None,
        reason: DenyReason::HopLimit { hops_needed, path },
    } = &decision
    else {
        panic!("expected a hop-limit denial, got {decision:?}");
    };
    assert_eq!((*hops_needed, path.hops(), path.level), (4, 4, Low));
    let text = explain_decision(&AuthRequest::new(key(4)), &decision, Low, &name, u64::MAX);
    assert!(
        text.starts_with("Erin is 4 hops away; the limit is 3: Low: you trust Bob"),
        "{text}"
    );
}

#[test]
fn a_larger_hop_limit_is_clamped_and_the_explanation_says_so() {
    let graph = chain(7, Complete);
    assert_eq!(
        graph.best_paths(key(5), 9),
        graph.best_paths(key(5), MAX_HOP_LIMIT)
    );
    assert!(graph.best_paths(key(6), 9).is_empty());
    let request = AuthRequest::new(key(6)).with_hop_limit(9);
    let decision = graph.evaluate(&request, Low);
    assert!(matches!(
        decision,
        Decision::Deny {
            reason: DenyReason::HopLimit { hops_needed: 6, .. },
            ..
        }
    ));
    let text = explain_decision(&request, &decision, Low, &name, 0);
    assert!(text.contains("the limit is 5"), "{text}");
    assert!(
        text.ends_with("(a hop limit of 9 was asked for; at most 5 is used)"),
        "{text}"
    );
}

#[test]
fn the_higher_level_wins_over_fewer_hops() {
    let graph = graph(&[
        direct(CAROL, Low, 1),
        direct(BOB, Complete, 1),
        attested(BOB, CAROL, Complete, 1),
    ]);
    let paths = graph.best_paths(key(CAROL), DEFAULT_HOP_LIMIT);
    assert_eq!(paths.len(), 1);
    assert_eq!(
        (node_sequence(&paths[0]), paths[0].level),
        (vec![ROOT, BOB, CAROL], High)
    );
}

#[test]
fn at_equal_level_fewer_hops_win() {
    let graph = graph(&[
        direct(BOB, Complete, 1),
        attested(BOB, CAROL, High, 5),
        direct(CAROL, Medium, 1),
    ]);
    let paths = graph.best_paths(key(CAROL), DEFAULT_HOP_LIMIT);
    assert_eq!(paths.len(), 1, "the two-hop path is also Medium but longer");
    assert_eq!(node_sequence(&paths[0]), vec![ROOT, CAROL]);
}

#[test]
fn at_equal_level_and_hops_the_newest_oldest_evidence_wins() {
    let graph = graph(&[
        direct(BOB, High, 10),
        attested(BOB, CAROL, High, 50),
        direct(DAVE, High, 20),
        attested(DAVE, CAROL, High, 30),
    ]);
    let paths = graph.best_paths(key(CAROL), DEFAULT_HOP_LIMIT);
    assert_eq!(paths.len(), 1);
    assert_eq!(
        node_sequence(&paths[0]),
        vec![ROOT, DAVE, CAROL],
        "oldest 20 beats oldest 10"
    );
    assert_eq!(paths[0].oldest_since_ms(), Some(20));
}

#[test]
fn full_ties_are_all_shown_in_key_order_whatever_the_arrival_order() {
    let edges = [
        direct(DAVE, High, 7),
        attested(DAVE, CAROL, High, 7),
        direct(BOB, High, 7),
        attested(BOB, CAROL, High, 7),
    ];
    let mut reversed = edges.clone();
    reversed.reverse();
    let forward = graph(&edges).best_paths(key(CAROL), DEFAULT_HOP_LIMIT);
    assert_eq!(
        forward,
        graph(&reversed).best_paths(key(CAROL), DEFAULT_HOP_LIMIT)
    );
    let sequences: Vec<_> = forward.iter().map(node_sequence).collect();
    assert_eq!(
        sequences,
        vec![vec![ROOT, BOB, CAROL], vec![ROOT, DAVE, CAROL]]
    );
}

#[test]
fn at_most_max_paths_shown_ties_are_returned_the_smallest_first() {
    let target = 200;
    let mut edges = Vec::new();
    for middle in (10..20).rev() {
        edges.push(direct(middle, High, 1));
        edges.push(attested(middle, target, High, 1));
    }
    let paths = graph(&edges).best_paths(key(target), DEFAULT_HOP_LIMIT);
    let middles: Vec<u8> = paths.iter().map(|path| node_sequence(path)[1]).collect();
    assert_eq!(
        middles,
        (10..10 + MAX_PATHS_SHOWN as u8).collect::<Vec<_>>()
    );
}

#[test]
fn cycles_and_self_loops_terminate() {
    let mut graph = graph(&[
        direct(BOB, Complete, 1),
        attested(BOB, CAROL, Complete, 1),
        attested(CAROL, BOB, Complete, 1),
        attested(CAROL, DAVE, High, 1),
        attested(DAVE, BOB, Complete, 1),
        attested(DAVE, CAROL, Complete, 1),
        attested(DAVE, ROOT, Complete, 1),
    ]);
    assert!(
        !graph.insert(attested(CAROL, CAROL, Complete, 2)),
        "self-loops are refused"
    );
    assert!(!graph.revoke(key(CAROL), key(CAROL), 2));
    assert_eq!(graph.level_of(key(DAVE), MAX_HOP_LIMIT), Low);
    assert_eq!(
        node_sequence(&graph.best_paths(key(DAVE), MAX_HOP_LIMIT)[0]),
        vec![0, 1, 2, 3]
    );
    assert_eq!(graph.reachable(MAX_HOP_LIMIT).len(), 3);
}

#[test]
fn the_root_is_complete_with_an_empty_path() {
    let graph = graph(&[direct(BOB, Low, 1)]);
    assert_eq!(graph.level_of(key(ROOT), 0), Complete);
    assert_eq!(graph.best_paths(key(ROOT), 0), vec![TrustPath::to_root()]);
    let decision = graph.evaluate(&AuthRequest::new(key(ROOT)), Complete);
    assert!(decision.is_allowed());
    let text = explain_decision(&AuthRequest::new(key(ROOT)), &decision, Complete, &name, 0);
    assert_eq!(text, "this is you: Complete");
}

#[test]
fn edges_the_root_could_not_have_received_are_refused() {
    let mut graph = TrustGraph::new(key(ROOT));
    let mut forged = direct(CAROL, High, 1);
    forged.from = key(BOB);
    assert!(!graph.insert(forged));
    let mut misattributed = attested(BOB, CAROL, High, 1);
    misattributed.source = EdgeSource::Attested { by: key(DAVE) };
    assert!(!graph.insert(misattributed));
    assert_eq!(graph.edge_count(), 0);
}

#[test]
fn a_newer_edge_replaces_an_older_one_in_any_arrival_order() {
    let old = direct(BOB, High, 1);
    let new = direct(BOB, Low, 2);
    let same_time_higher = direct(BOB, Medium, 2);
    for order in [
        [&old, &new, &same_time_higher],
        [&same_time_higher, &new, &old],
    ] {
        let mut graph = TrustGraph::new(key(ROOT));
        for edge in order {
            graph.insert(edge.clone());
        }
        assert_eq!(graph.edge(key(ROOT), key(BOB)), Some(&same_time_higher));
        assert_eq!(graph.edge_count(), 1);
    }
    let mut graph = graph(std::slice::from_ref(&new));
    assert!(!graph.insert(old), "an older edge changes nothing");
    assert!(graph.insert(same_time_higher));
}

#[test]
fn a_revocation_applies_to_edges_made_before_it_even_if_they_arrive_later() {
    let mut graph = TrustGraph::new(key(ROOT));
    assert!(
        !graph.revoke(key(ROOT), key(BOB), 10),
        "nothing live to revoke yet"
    );
    assert!(
        !graph.insert(direct(BOB, High, 10)),
        "arrives already revoked"
    );
    assert_eq!(graph.level_of(key(BOB), 1), TrustLevel::None);
    assert_eq!(graph.edge_count(), 0);
    assert!(
        graph.insert(direct(BOB, Medium, 11)),
        "made after the revocation"
    );
    assert_eq!(graph.level_of(key(BOB), 1), Medium);
    assert!(graph.revoke(key(ROOT), key(BOB), 11));
    assert!(!graph.revoke(key(ROOT), key(BOB), 11), "already revoked");
    assert_eq!(graph.edge_count(), 0);
    assert_eq!(
        graph
            .revoked_edge(key(ROOT), key(BOB))
            .map(|(edge, at)| (edge.level, at)),
        Some((Medium, 11))
    );
}

#[test]
fn a_denial_names_the_revoked_edge() {
    let revoked_at = DEC_2_2026_MS + 3 * DAY_MS;
    let mut graph = graph(&[
        direct(BOB, Complete, DEC_2_2026_MS),
        attested(BOB, CAROL, High, DEC_2_2026_MS + DAY_MS),
        direct(DAVE, Medium, 1),
        attested(DAVE, CAROL, Complete, 1),
    ]);
    assert!(
        graph
            .evaluate(&AuthRequest::new(key(CAROL)), Medium)
            .is_allowed()
    );
    assert!(graph.revoke(key(BOB), key(CAROL), revoked_at));
    let decision = graph.evaluate(&AuthRequest::new(key(CAROL)), Medium);
    let Decision::Deny {
        level: Low,
        reason:
            DenyReason::Revoked {
                edge,
                revoked_at_ms,
                path,
            },
    } = &decision
    else {
        panic!("expected a revocation, got {decision:?}");
    };
    assert_eq!(
        (edge.from, edge.to, *revoked_at_ms),
        (key(BOB), key(CAROL), revoked_at)
    );
    assert_eq!(
        (node_sequence(path), path.level),
        (vec![ROOT, BOB, CAROL], Medium)
    );
    let text = explain_decision(
        &AuthRequest::new(key(CAROL)),
        &decision,
        Medium,
        &name,
        u64::MAX,
    );
    assert!(
        text.starts_with("the path through Bob was revoked on 2026-12-05 (Bob → Carol); Carol is at Low, below Medium; that path was Medium:"),
        "{text}"
    );
}

#[test]
fn denials_without_a_path_or_with_a_weak_one() {
    let graph = graph(&[
        direct(BOB, Complete, 1),
        attested(BOB, CAROL, Low, 1),
        direct(ERIN, TrustLevel::None, 1),
    ]);
    let nobody = graph.evaluate(&AuthRequest::new(key(FRANK)), Low);
    assert_eq!(
        nobody,
        Decision::Deny {
            level: TrustLevel::None,
            reason: DenyReason::NoPath
        }
    );
    assert_eq!(
        explain_decision(&AuthRequest::new(key(FRANK)), &nobody, Low, &name, 0),
        "no path reaches Frank"
    );

    let weak = graph.evaluate(
        &AuthRequest::new(key(CAROL)).for_action("serve anti-entropy"),
        Low,
    );
    let Decision::Deny {
        level: TrustLevel::None,
        reason: DenyReason::BelowRequired { path },
    } = &weak
    else {
        panic!("expected a weak path, got {weak:?}");
    };
    assert_eq!(
        path.level,
        TrustLevel::None,
        "a None path is still evidence"
    );
    let text = explain_decision(
        &AuthRequest::new(key(CAROL)).for_action("serve anti-entropy"),
        &weak,
        Low,
        &name,
        0,
    );
    assert!(
        text.starts_with(
            "serve anti-entropy refused: Carol is at None, below Low: the best path: you trust Bob"
        ),
        "{text}"
    );

    let distrusted = graph.evaluate(&AuthRequest::new(key(ERIN)), TrustLevel::None);
    assert!(
        !distrusted.is_allowed(),
        "a None path grants nothing, even when nothing is required"
    );
    assert!(
        graph
            .reachable(DEFAULT_HOP_LIMIT)
            .iter()
            .all(|(peer, _)| *peer == key(BOB))
    );
}

#[test]
fn a_path_explains_itself_in_words() {
    let path = TrustPath::from_edges(vec![
        direct(BOB, Medium, DEC_2_2026_MS),
        attested(BOB, CAROL, High, DEC_2_2026_MS + DAY_MS),
    ]);
    assert_eq!(
        explain_path(&path, &name, DEC_2_2026_MS + 2 * DAY_MS),
        "Low: you trust Bob at Medium (since 2026-12-02); Bob trusts Carol at High (attested 2026-12-03); \
         the weakest link is you → Bob at Medium; one extra hop lowers Medium to Low"
    );
    let even = TrustPath::from_edges(vec![
        direct(BOB, High, 0),
        attested(BOB, CAROL, High, 0),
        attested(CAROL, DAVE, High, DAY_MS),
    ]);
    assert_eq!(
        explain_path(&even, &name, 0),
        "Low: you trust Bob at High (since 1970-01-01); Bob trusts Carol at High (attested 1970-01-01); \
         Carol trusts Dave at High (attested 1970-01-02, dated in the future); two extra hops lower High to Low"
    );
    assert_eq!(
        explain_path(&TrustPath::to_root(), &name, 0),
        "Complete: this is you"
    );
}

#[test]
fn dates_are_utc_days() {
    assert_eq!(utc_date(0), "1970-01-01");
    assert_eq!(utc_date(DEC_2_2026_MS + DAY_MS - 1), "2026-12-02");
    assert_eq!(utc_date(1_709_164_800_000), "2024-02-29");
    assert_eq!(utc_date(951_868_800_000), "2000-03-01");
    assert_eq!(utc_date(4_107_542_400_000), "2100-03-01");
}

#[test]
fn reachable_lists_the_best_first() {
    let graph = graph(&[
        direct(BOB, Medium, 1),
        direct(CAROL, Complete, 1),
        attested(CAROL, DAVE, Complete, 1),
    ]);
    let listed: Vec<(u8, TrustLevel)> = graph
        .reachable(DEFAULT_HOP_LIMIT)
        .iter()
        .map(|(peer, path)| (peer.0[0], path.level))
        .collect();
    assert_eq!(listed, vec![(CAROL, Complete), (DAVE, High), (BOB, Medium)]);
}
