//! The web of trust at scale: a random graph of 10,000 devices with 10 outgoing edges each on
//! average (random levels and times; the root with 50 direct edges). Times building the graph
//! from its 100,000 edges, the first query after a build (which indexes the graph), and path
//! queries (`best_paths`, `evaluate`) for random targets at hop limits 3 and 5.
//!
//! `cargo bench --bench trust`; `AURA_BENCH_TRUST_QUERIES` sets the queries per kind and
//! limit (default 2,000).

// Benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aura::state::fact::DeviceKey;
use aura::state::trust_level::TrustLevel;
use aura::trust::graph::{AuthRequest, Edge, EdgeSource, TrustGraph};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const NODES: usize = 10_000;
const MEAN_OUT_DEGREE: usize = 10;
const ROOT_DIRECT_EDGES: usize = 50;
const BUILDS: usize = 20;
const DEFAULT_QUERIES: usize = 2_000;
const SEED: u64 = 0x7275_7374;
/// Evidence spread over about a year, in milliseconds.
const TIME_SPAN_MS: u64 = 365 * 86_400_000;

fn random_key(rng: &mut StdRng) -> DeviceKey {
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes);
    DeviceKey(bytes)
}

fn random_level(rng: &mut StdRng) -> TrustLevel {
    TrustLevel::ALL[rng.random_range(0..TrustLevel::ALL.len())]
}

fn random_edges(rng: &mut StdRng, keys: &[DeviceKey]) -> Vec<Edge> {
    let root = keys[0];
    let mut edges = Vec::with_capacity(NODES * MEAN_OUT_DEGREE);
    for _ in 0..ROOT_DIRECT_EDGES {
        edges.push(Edge {
            from: root,
            to: keys[rng.random_range(1..keys.len())],
            level: random_level(rng),
            since_ms: rng.random_range(0..TIME_SPAN_MS),
            source: EdgeSource::Direct,
        });
    }
    for &from in &keys[1..] {
        // Out-degrees from 0 to 20, mean 10, so some devices are hubs and some leaves.
        for _ in 0..rng.random_range(0..=2 * MEAN_OUT_DEGREE) {
            edges.push(Edge {
                from,
                to: keys[rng.random_range(0..keys.len())],
                level: random_level(rng),
                since_ms: rng.random_range(0..TIME_SPAN_MS),
                source: EdgeSource::Attested { by: from },
            });
        }
    }
    edges
}

fn build(root: DeviceKey, edges: Vec<Edge>) -> TrustGraph {
    let mut graph = TrustGraph::new(root);
    for edge in edges {
        graph.insert(edge);
    }
    graph
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what:<44} p50 {:>10.3?}  p99 {:>10.3?}  max {:>10.3?}  (n={})",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        percentile(&samples, 1.0),
        samples.len()
    );
}

fn timed<T>(run: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let result = run();
    (result, started.elapsed())
}

fn main() {
    let queries = std::env::var("AURA_BENCH_TRUST_QUERIES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_QUERIES);
    let mut rng = StdRng::seed_from_u64(SEED);
    let keys: Vec<DeviceKey> = (0..NODES).map(|_| random_key(&mut rng)).collect();
    let root = keys[0];
    let edges = random_edges(&mut rng, &keys);

    let mut builds = Vec::new();
    let mut first_queries = Vec::new();
    let mut graph = TrustGraph::new(root);
    for _ in 0..BUILDS {
        let input = edges.clone();
        let (built, took) = timed(|| build(root, input));
        builds.push(took);
        let target = keys[rng.random_range(1..NODES)];
        let (_, took) = timed(|| black_box(built.level_of(target, 3)));
        first_queries.push(took);
        graph = built;
    }
    println!(
        "graph: {NODES} nodes, {} edges inserted, {} live",
        edges.len(),
        graph.edge_count()
    );
    report("build from all edges", builds);
    report("first query after a build (indexing)", first_queries);

    for limit in [3u8, 5] {
        let reachable = graph.reachable(limit).len();
        let (_, took) = timed(|| black_box(graph.reachable(limit)));
        println!("reachable(limit {limit}): {reachable} devices above None in {took:.3?}");

        let mut path_times = Vec::with_capacity(queries);
        let mut decision_times = Vec::with_capacity(queries);
        let mut allowed = 0usize;
        for _ in 0..queries {
            let target = keys[rng.random_range(1..NODES)];
            let (_, took) = timed(|| black_box(graph.best_paths(target, limit)));
            path_times.push(took);
            let request = AuthRequest::new(target).with_hop_limit(limit);
            let required = random_level(&mut rng).max(TrustLevel::Low);
            let (decision, took) = timed(|| black_box(graph.evaluate(&request, required)));
            allowed += usize::from(decision.is_allowed());
            decision_times.push(took);
        }
        report(&format!("best_paths, limit {limit}"), path_times);
        report(
            &format!("evaluate, limit {limit} ({allowed} of {queries} allowed)"),
            decision_times,
        );
    }

    from_facts(&mut rng, &keys);
}

/// The graph as a node builds it: from the relationship facts and the attestations its
/// contacts shared, decoded from their signed encodings as the store holds them.
fn from_facts(rng: &mut StdRng, keys: &[DeviceKey]) {
    use aura::invite::book::{Relationship, Role};
    use aura::invite::facts::InvitationKey;
    use aura::state::fact::{ContextId, Fact};
    use aura::state::hlc::Hlc;
    use aura::trust::book::{TrustSettings, build_graph};
    use aura::trust::facts::TrustFact;
    use ed25519_dalek::SigningKey;

    let contacts: Vec<SigningKey> = (0..ROOT_DIRECT_EDGES)
        .map(|_| {
            let mut seed = [0u8; 32];
            rng.fill(&mut seed);
            SigningKey::from_bytes(&seed)
        })
        .collect();
    let per_contact = NODES * MEAN_OUT_DEGREE / ROOT_DIRECT_EDGES;
    let mut relationships = Vec::new();
    let mut encoded: Vec<Vec<Vec<u8>>> = Vec::new();
    for (index, contact) in contacts.iter().enumerate() {
        let context = ContextId([index as u8; 32]);
        let peer = DeviceKey::of(contact);
        relationships.push(Relationship {
            peer,
            context,
            role: Role::Inviter,
            since_ms: 1,
            peer_name: String::new(),
            invitation: InvitationKey([0; 32]),
            ended: None,
        });
        let facts = (0..per_contact)
            .map(|n| {
                let (kind, body) = TrustFact::Attestation {
                    subject: keys[rng.random_range(0..keys.len())],
                    level: random_level(rng),
                }
                .encode();
                let time = Hlc::new(1_000 + n as u64, 0).expect("time");
                Fact::sign(contact, context, time, kind, body)
                    .expect("fact")
                    .encode()
            })
            .collect();
        encoded.push(facts);
    }
    let settings = TrustSettings::default();
    let mut builds = Vec::new();
    for _ in 0..5 {
        let (graph, took) = timed(|| {
            let decoded: Vec<Vec<Fact>> = encoded
                .iter()
                .map(|facts| {
                    facts
                        .iter()
                        .map(|bytes| Fact::decode(bytes).expect("decode"))
                        .collect()
                })
                .collect();
            build_graph(keys[0], &settings, &relationships, |relationship| {
                let index = relationships
                    .iter()
                    .position(|r| r.context == relationship.context)
                    .unwrap_or(0);
                decoded[index].as_slice()
            })
        });
        black_box(graph.edge_count());
        builds.push(took);
    }
    report(
        &format!(
            "build from {} stored facts ({} contacts' attestations, decoded)",
            ROOT_DIRECT_EDGES * per_contact,
            ROOT_DIRECT_EDGES
        ),
        builds,
    );
}
