//! The text the CLI prints for each [`ControlResponse`]: one renderer, whoever answered, so
//! that a command prints the same whether a node runs or not, except for what only a running
//! node knows.

use std::fmt::Write as _;

use super::protocol::{
    BudgetView, ControlFailure, ControlResponse, IdentityView, NetworkView, PeerAddedView,
    PeerView, ReachView, RemovedView, StatusView, StoreView,
};
use super::render_invite;
use crate::config::LoadedConfig;
use crate::paths::ProfilePaths;

/// Characters of a peer id shown where a full one would not fit.
const SHORT_PEER_CHARS: usize = 8;
/// The longest reason of a failed dial shown: libp2p's can run to kilobytes.
const MAX_REASON_CHARS: usize = 160;
const MS_PER_MINUTE: u64 = 60_000;
const MINUTES_PER_DAY: u64 = 24 * 60;

/// Who answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The node running on the profile, over its control socket.
    Node,
    /// The store, opened by the CLI because no node runs.
    Store,
}

/// What the CLI knows itself, for `status`.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    pub paths: &'a ProfilePaths,
    pub config: &'a LoadedConfig,
    /// The wall clock, for times shown relative to now.
    pub now_ms: u64,
}

/// The text for `response`, or the failure it carries.
pub fn render(
    response: &ControlResponse,
    source: Source,
    local: &Local<'_>,
) -> Result<String, ControlFailure> {
    Ok(match response {
        ControlResponse::Id(identity) => identity_lines(identity),
        ControlResponse::Status(status) => status_text(status, local),
        ControlResponse::PeerAdded(added) => peer_added(added),
        ControlResponse::Peers(peers) => peer_list(peers),
        ControlResponse::PeersRemoved(removed) => peers_removed(removed),
        ControlResponse::Budgets(budgets) => {
            let mut out = String::new();
            if source == Source::Store {
                out.push_str("(no node is running: budgets as the store kept them)\n");
            }
            out.push_str(&budget_lines(budgets));
            out
        }
        ControlResponse::Invited(answer) => render_invite::invited(answer, local.now_ms),
        ControlResponse::Invitations(view) => {
            let mut out = String::new();
            if source == Source::Store {
                out.push_str("(no node is running: as the store kept them)\n");
            }
            out.push_str(&render_invite::invitations(view, local.now_ms));
            out
        }
        ControlResponse::Acceptance(Some(view)) => {
            format!("{}\n", render_invite::acceptance_line(view, local.now_ms))
        }
        ControlResponse::Acceptance(None) => "no such acceptance\n".to_owned(),
        ControlResponse::Contacts(contacts) => render_invite::contacts(contacts),
        ControlResponse::Trust(answer) => render_invite::trust(answer),
        ControlResponse::Group(reply) => super::render_group::group(reply),
        ControlResponse::Failed(failure) => return Err(failure.clone()),
    })
}

fn identity_lines(identity: &IdentityView) -> String {
    format!(
        "peer id      {}\nfingerprint  {}\n",
        identity.peer_id, identity.fingerprint
    )
}

fn status_text(status: &StatusView, local: &Local<'_>) -> String {
    let paths = local.paths;
    let mut out = String::new();
    let config_state = match &local.config.source {
        Some(_) => "",
        None => " (not present; defaults in use)",
    };
    let _ = writeln!(out, "profile      {}", paths.profile);
    let _ = writeln!(
        out,
        "config       {}{config_state}",
        paths.config_file.display()
    );
    for key in &local.config.unknown_keys {
        let _ = writeln!(out, "             unknown key `{key}` (ignored)");
    }
    let _ = writeln!(out, "data         {}", paths.data_dir.display());
    let _ = writeln!(out, "logs         {}", paths.log_dir.display());
    let store = paths.store_file.display();
    match &status.store {
        StoreView::NotCreated => {
            let _ = writeln!(out, "store        {store} (not created yet)");
        }
        StoreView::HeldByNode => {
            let _ = writeln!(out, "store        {store} (held by the running node)");
        }
        StoreView::Open {
            schema_version,
            file_bytes,
            tables,
        } => {
            let _ = writeln!(
                out,
                "store        {store} ({} KiB, schema v{schema_version})",
                file_bytes.div_ceil(1024)
            );
            let width = tables.iter().map(|(table, _)| table.len()).max();
            for (table, entries) in tables {
                let _ = writeln!(
                    out,
                    "  {table:<width$} {entries} entries",
                    width = width.unwrap_or(0)
                );
            }
        }
    }
    match &status.identity {
        Some(identity) => out.push_str(&identity_lines(identity)),
        None => {
            let _ = writeln!(
                out,
                "identity     none yet: run `aura --profile {} init`",
                paths.profile
            );
        }
    }
    match &status.network {
        Some(network) => out.push_str(&network_lines(network)),
        None => out.push_str("network      offline (no node is running)\n"),
    }
    out
}

fn network_lines(net: &NetworkView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "network      online: {} listen address(es), {} connected peer(s)",
        net.listen_addrs.len(),
        net.connected.len()
    );
    for addr in &net.listen_addrs {
        let _ = writeln!(out, "  listening  {addr}");
    }
    for peer in &net.connected {
        match net.names.get(peer) {
            Some(name) => {
                let _ = writeln!(
                    out,
                    "  connected  {peer} ({}) {}",
                    short_peer(peer),
                    crate::ui::text::sanitize(name)
                );
            }
            None => {
                let _ = writeln!(out, "  connected  {peer} ({})", short_peer(peer));
            }
        }
    }
    let _ = writeln!(
        out,
        "reachable    {} (AutoNAT); {} peer(s) in the Kademlia table",
        net.nat, net.routing_table
    );
    let _ = writeln!(
        out,
        "journal      {} facts in {} context(s)",
        net.facts, net.contexts
    );
    let _ = writeln!(
        out,
        "sessions     {} completed, {} stopped by budget, {} failed, {} refused",
        net.sessions_completed, net.sessions_denied, net.sessions_failed, net.sessions_refused
    );
    if net.stranger_sessions > 0 || net.stranger_gossip > 0 {
        let _ = writeln!(
            out,
            "strangers    {} session(s) and {} gossip message(s) refused: no relationship, no trust path",
            net.stranger_sessions, net.stranger_gossip
        );
    }
    if net.non_member_sessions > 0 || net.non_member_gossip > 0 || net.non_member_facts > 0 {
        let _ = writeln!(
            out,
            "non-members  {} session(s), {} gossip message(s) and {} fact(s) in sessions of groups refused: not in the roster",
            net.non_member_sessions, net.non_member_gossip, net.non_member_facts
        );
    }
    if net.denied_publishes > 0 || net.dropped_inbound > 0 {
        let _ = writeln!(
            out,
            "budgets      {} write(s) not sent, {} message(s) from peers over budget dropped",
            net.denied_publishes, net.dropped_inbound
        );
    }
    if net.violations > 0 {
        let _ = writeln!(
            out,
            "rejected     {} stream(s) or message(s) that broke the protocol",
            net.violations
        );
    }
    out
}

fn peer_added(added: &PeerAddedView) -> String {
    let known = if added.fresh {
        "added peer"
    } else {
        "already known: peer"
    };
    let outcome = match &added.reach {
        ReachView::Connected => "connected".to_owned(),
        ReachView::NotYet(reason) => format!(
            "not reached yet ({}); the node keeps trying",
            capped(reason, MAX_REASON_CHARS)
        ),
        ReachView::Offline => "it is dialled when a node starts on this profile".to_owned(),
    };
    format!("{known} {}; {outcome}\n", added.addr)
}

fn peer_list(peers: &[PeerView]) -> String {
    if peers.is_empty() {
        return "no saved peers: add one with `aura peer add MULTIADDR`\n".to_owned();
    }
    let mut out = String::from("peer       connected  added (UTC)       address\n");
    for peer in peers {
        let label = match (&peer.name, peer.peer.as_deref()) {
            (Some(name), _) => crate::ui::text::sanitize(name),
            (None, peer) => peer.map(short_peer).unwrap_or_default(),
        };
        let connected = match peer.connected {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        let added = match peer.added_ms {
            0 => "-".to_owned(),
            ms => utc_minute(ms),
        };
        let _ = writeln!(out, "{label:<10} {connected:<10} {added:<17} {}", peer.addr);
    }
    out
}

fn peers_removed(removed: &RemovedView) -> String {
    if removed.by_peer {
        format!(
            "removed {} saved address(es) of peer {}\n",
            removed.removed, removed.target
        )
    } else {
        format!("removed saved address {}\n", removed.target)
    }
}

/// The lines of `aura budget list`.
pub fn budget_lines(budgets: &BudgetView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "epoch        {} ({} s each); budgets refill in {} s",
        budgets.epoch, budgets.epoch_secs, budgets.refill_secs
    );
    if budgets.sending.is_empty() {
        out.push_str("sending      no budgets yet: a peer gets one when it joins a context\n");
    } else {
        out.push_str("sending      context       peer         left / limit\n");
        for line in &budgets.sending {
            let _ = writeln!(
                out,
                "             {}  {:<12} {} / {}",
                line.context, line.peer, line.left, line.limit
            );
        }
    }
    if !budgets.leakage.is_empty() {
        out.push_str("leakage      context       left external / neighbour / group\n");
        for line in &budgets.leakage {
            let _ = writeln!(
                out,
                "             {}  {} / {} / {}",
                line.context, line.external, line.neighbour, line.group
            );
        }
    }
    if !budgets.receiving.is_empty() {
        out.push_str("receiving    peer         spent / limit this epoch, dropped in all\n");
        for line in &budgets.receiving {
            let _ = writeln!(
                out,
                "             {:<12} {} / {}, {} dropped",
                line.peer, line.spent, line.limit, line.dropped
            );
        }
    }
    out
}

/// The last characters of a peer id, as the TUI shows it.
fn short_peer(peer: &str) -> String {
    let chars: Vec<char> = peer.chars().collect();
    let tail = chars.len().saturating_sub(SHORT_PEER_CHARS);
    format!("…{}", chars[tail..].iter().collect::<String>())
}

/// `text` cut to `max` characters, control characters shown as `?`: it came from elsewhere.
fn capped(text: &str, max: usize) -> String {
    let mut shown: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        shown.push('…');
    }
    shown
}

/// `ms` since the Unix epoch as `YYYY-MM-DD HH:MM`, in UTC.
pub fn utc_minute(ms: u64) -> String {
    let minutes = ms / MS_PER_MINUTE;
    let (days, minute_of_day) = (minutes / MINUTES_PER_DAY, minutes % MINUTES_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

/// `ms` as a UTC date and time to the second.
pub fn utc_second(ms: u64) -> String {
    format!("{}:{:02}", utc_minute(ms), (ms / 1_000) % 60)
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    const DAYS_PER_ERA: u64 = 146_097;
    // Shifted so that eras start on 0000-03-01, where leap days fall last.
    let z = days + 719_468;
    let era = z / DAYS_PER_ERA;
    let day_of_era = z % DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_as_utc_dates() {
        assert_eq!(utc_minute(60_000), "1970-01-01 00:01");
        // 2000-02-29 12:34 UTC, a leap day in a century leap year.
        assert_eq!(utc_minute(951_827_640_000), "2000-02-29 12:34");
        // 2024-12-31 23:59 UTC.
        assert_eq!(utc_minute(1_735_689_540_000), "2024-12-31 23:59");
    }

    #[test]
    fn a_reason_from_elsewhere_is_capped_and_printable() {
        let shown = capped(&format!("\x1b[2J{}", "x".repeat(1000)), MAX_REASON_CHARS);
        assert_eq!(shown.chars().count(), MAX_REASON_CHARS + 1);
        assert!(shown.starts_with("?[2J"));
    }

    #[test]
    fn a_failure_is_an_error_whoever_answered() {
        let paths = ProfilePaths::resolve("p", Some(std::path::Path::new("/tmp"))).unwrap();
        let config = crate::config::defaults().unwrap();
        let local = Local {
            paths: &paths,
            config: &config,
            now_ms: 0,
        };
        let failed = ControlResponse::Failed(ControlFailure::UnknownPeer("x".into()));
        for source in [Source::Node, Source::Store] {
            assert_eq!(
                render(&failed, source, &local),
                Err(ControlFailure::UnknownPeer("x".into()))
            );
        }
    }
}
