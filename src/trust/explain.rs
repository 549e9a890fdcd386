//! Trust levels and decisions in words, for `aura trust path` and `aura trust why-not`.
//!
//! Levels are capitalised as the CLI prints them; dates are UTC days (YYYY-MM-DD). The root is
//! "you"; every other device is named by the caller's `names`.

use crate::state::fact::DeviceKey;
use crate::state::trust_level::TrustLevel;

use super::graph::{
    AuthRequest, Decision, DenyReason, Edge, EdgeSource, MAX_HOP_LIMIT, TrustPath, attenuate,
    effective_hop_limit,
};

const MS_PER_DAY: u64 = 86_400_000;

/// How the level was reached, edge by edge: "Low: you trust Bob at Medium (since 2026-12-02);
/// Bob trusts Carol at High (attested 2026-12-03); one extra hop lowers Medium to Low".
/// `now_ms` flags evidence dated in the future, a sign of a wrong clock somewhere.
pub fn explain_path(path: &TrustPath, names: &dyn Fn(&DeviceKey) -> String, now_ms: u64) -> String {
    if path.edges.is_empty() {
        return format!("{}: this is you", level_name(path.level));
    }
    format!(
        "{}: {}",
        level_name(path.level),
        describe_steps(path, names, now_ms)
    )
}

/// Why the request was allowed or denied, naming the edge or rule that decided it.
pub fn explain_decision(
    request: &AuthRequest,
    decision: &Decision,
    required: TrustLevel,
    names: &dyn Fn(&DeviceKey) -> String,
    now_ms: u64,
) -> String {
    let subject = names(&request.subject);
    let limit = effective_hop_limit(request.hop_limit);
    let mut text = match decision {
        Decision::Allow { level, path } if path.edges.is_empty() => {
            format!("this is you: {}", level_name(*level))
        }
        Decision::Allow { level, path } => format!(
            "{subject} is at {}, meeting {}: {}",
            level_name(*level),
            level_name(required),
            describe_steps(path, names, now_ms)
        ),
        Decision::Deny { level, reason } => {
            let standing = standing(&subject, *level, required);
            match reason {
                DenyReason::NoPath => format!("no path reaches {subject}"),
                DenyReason::BelowRequired { path } => format!(
                    "{standing}: the best path: {}",
                    describe_steps(path, names, now_ms)
                ),
                DenyReason::HopLimit { hops_needed, path } => {
                    let distance = if *level == TrustLevel::None {
                        format!("{subject} is {hops_needed} hops away")
                    } else {
                        format!(
                            "{standing}; a path at {} is {hops_needed} hops long",
                            level_name(path.level)
                        )
                    };
                    format!(
                        "{distance}; the limit is {limit}: {}",
                        explain_path(path, names, now_ms)
                    )
                }
                DenyReason::Revoked {
                    edge,
                    revoked_at_ms,
                    path,
                } => format!(
                    "{} was revoked on {} ({}); {standing}; that path was {}",
                    revoked_path_name(path, names),
                    utc_date(*revoked_at_ms),
                    edge_name(edge, path, names),
                    explain_path(path, names, now_ms)
                ),
            }
        }
    };
    if request.hop_limit > MAX_HOP_LIMIT {
        text.push_str(&format!(
            " (a hop limit of {} was asked for; at most {MAX_HOP_LIMIT} is used)",
            request.hop_limit
        ));
    }
    match (request.what, decision.is_allowed()) {
        (Some(what), true) => format!("{what} allowed: {text}"),
        (Some(what), false) => format!("{what} refused: {text}"),
        (None, _) => text,
    }
}

/// The level a path carries as the CLI prints it.
pub fn level_name(level: TrustLevel) -> &'static str {
    match level {
        TrustLevel::None => "None",
        TrustLevel::Low => "Low",
        TrustLevel::Medium => "Medium",
        TrustLevel::High => "High",
        TrustLevel::Complete => "Complete",
    }
}

/// A UTC day as YYYY-MM-DD.
pub fn utc_date(ms: u64) -> String {
    let (year, month, day) = crate::control::render::civil_from_days(ms / MS_PER_DAY);
    format!("{year:04}-{month:02}-{day:02}")
}

fn standing(subject: &str, level: TrustLevel, required: TrustLevel) -> String {
    if level < required {
        format!(
            "{subject} is at {}, below {}",
            level_name(level),
            level_name(required)
        )
    } else {
        format!(
            "{subject} is at {}, which grants nothing",
            level_name(level)
        )
    }
}

fn describe_steps(path: &TrustPath, names: &dyn Fn(&DeviceKey) -> String, now_ms: u64) -> String {
    let mut steps: Vec<String> = path
        .edges
        .iter()
        .enumerate()
        .map(|(index, edge)| describe_edge(edge, index == 0, names, now_ms))
        .collect();
    if let Some(weakest) = limiting_edge(path) {
        steps.push(format!(
            "the weakest link is {} at {}",
            edge_name(weakest, path, names),
            level_name(weakest.level)
        ));
    }
    if let Some(bottleneck) = path.bottleneck() {
        let extra_hops = path.hops().saturating_sub(1);
        if extra_hops > 0 {
            let (hops, lowers) = if extra_hops == 1 {
                ("hop", "lowers")
            } else {
                ("hops", "lower")
            };
            steps.push(format!(
                "{} extra {hops} {lowers} {} to {}",
                count_in_words(extra_hops),
                level_name(bottleneck),
                level_name(attenuate(bottleneck, path.hops()))
            ));
        }
    }
    steps.join("; ")
}

fn describe_edge(
    edge: &Edge,
    from_root: bool,
    names: &dyn Fn(&DeviceKey) -> String,
    now_ms: u64,
) -> String {
    let trust = if from_root {
        format!("you trust {}", names(&edge.to))
    } else {
        format!("{} trusts {}", names(&edge.from), names(&edge.to))
    };
    let made = match edge.source {
        EdgeSource::Direct => "since",
        EdgeSource::Attested { .. } => "attested",
    };
    let future = if edge.since_ms > now_ms {
        ", dated in the future"
    } else {
        ""
    };
    format!(
        "{trust} at {} ({made} {}{future})",
        level_name(edge.level),
        utc_date(edge.since_ms)
    )
}

/// The first weakest edge, when a stronger edge on the same path shows that it limits.
fn limiting_edge(path: &TrustPath) -> Option<&Edge> {
    let weakest = path.edges.iter().min_by_key(|edge| edge.level)?;
    let strongest = path.edges.iter().map(|edge| edge.level).max()?;
    (weakest.level < strongest).then_some(weakest)
}

/// "Bob → Carol", with the root as "you".
fn edge_name(edge: &Edge, path: &TrustPath, names: &dyn Fn(&DeviceKey) -> String) -> String {
    let root = path.edges.first().map(|first| first.from);
    let name = |key: &DeviceKey| {
        if Some(*key) == root {
            "you".to_owned()
        } else {
            names(key)
        }
    };
    format!("{} → {}", name(&edge.from), name(&edge.to))
}

/// "the path through Bob and Dave", or "your direct trust in Carol" for a one-hop path.
fn revoked_path_name(path: &TrustPath, names: &dyn Fn(&DeviceKey) -> String) -> String {
    let intermediates: Vec<String> = path
        .edges
        .iter()
        .skip(1)
        .map(|edge| names(&edge.from))
        .collect();
    match intermediates.split_last() {
        None => match path.target() {
            Some(target) => format!("your direct trust in {}", names(&target)),
            None => "the path".to_owned(),
        },
        Some((last, [])) => format!("the path through {last}"),
        Some((last, rest)) => format!("the path through {} and {last}", rest.join(", ")),
    }
}

fn count_in_words(count: usize) -> String {
    const WORDS: [&str; 8] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight",
    ];
    count
        .checked_sub(1)
        .and_then(|index| WORDS.get(index))
        .map_or_else(|| count.to_string(), |word| (*word).to_owned())
}
