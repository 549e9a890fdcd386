//! The network node's tables on a real redb file: the peers the user added, the addresses
//! peers reported about themselves (capped), and a store of schema v5 migrated to v6.

use std::path::{Path, PathBuf};

use aura::state::store::{
    MAX_KNOWN_ADDR_BYTES, MAX_KNOWN_ADDRS_PER_PEER, MAX_KNOWN_PEERS, MAX_PEER_ID_TEXT_BYTES,
    SCHEMA_VERSION, Store, StoreError,
};
use redb::TableDefinition;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const KNOWN_ADDRS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("net_known_addrs");

fn store_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store.redb")
}

fn addrs(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|text| (*text).to_owned()).collect()
}

fn peer(index: usize) -> String {
    format!("12D3KooWpeer{index:04}")
}

#[test]
fn added_peers_are_listed_by_time_and_can_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    {
        let store = Store::open(&path, "p").unwrap();
        assert!(store.add_peer_addr("/ip4/10.0.0.3/tcp/1", 30).unwrap());
        assert!(store.add_peer_addr("/ip4/10.0.0.2/tcp/1", 10).unwrap());
        assert!(store.add_peer_addr("/ip4/10.0.0.1/tcp/1", 30).unwrap());
        // Adding again keeps the first time.
        assert!(!store.add_peer_addr("/ip4/10.0.0.2/tcp/1", 99).unwrap());
    }
    let store = Store::open(&path, "p").unwrap();
    assert_eq!(
        store.peer_addr_entries().unwrap(),
        [
            ("/ip4/10.0.0.2/tcp/1".to_owned(), 10),
            ("/ip4/10.0.0.1/tcp/1".to_owned(), 30),
            ("/ip4/10.0.0.3/tcp/1".to_owned(), 30),
        ]
    );
    assert!(store.remove_peer_addr("/ip4/10.0.0.1/tcp/1").unwrap());
    assert!(!store.remove_peer_addr("/ip4/10.0.0.1/tcp/1").unwrap());
    assert_eq!(
        store.peer_addrs().unwrap(),
        ["/ip4/10.0.0.2/tcp/1", "/ip4/10.0.0.3/tcp/1"]
    );
}

#[test]
fn reported_addresses_replace_the_peers_list_within_the_caps() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    {
        let store = Store::open(&path, "p").unwrap();
        store
            .record_peer_addrs(&peer(1), &addrs(&["/ip4/1.1.1.1/tcp/1"]), 5)
            .unwrap();
        // The next report replaces the first; repeats, empty and over-long addresses are
        // not kept, and only the first addresses up to the cap are.
        let too_long = format!("/dns4/{}/tcp/1", "a".repeat(MAX_KNOWN_ADDR_BYTES));
        let mut report = addrs(&["/ip4/2.2.2.2/tcp/2", "/ip4/2.2.2.2/tcp/2", ""]);
        report.push(too_long);
        report.extend((0..MAX_KNOWN_ADDRS_PER_PEER).map(|port| format!("/ip4/3.3.3.3/tcp/{port}")));
        store.record_peer_addrs(&peer(1), &report, 6).unwrap();
        store
            .record_peer_addrs(&peer(2), &addrs(&["/ip4/4.4.4.4/udp/4/quic-v1"]), 7)
            .unwrap();
    }
    let store = Store::open(&path, "p").unwrap();
    let known = store.known_peer_addrs().unwrap();
    assert_eq!(known.len(), 2);
    assert_eq!(known[0].0, peer(1));
    let mut expected = addrs(&["/ip4/2.2.2.2/tcp/2"]);
    expected
        .extend((0..MAX_KNOWN_ADDRS_PER_PEER - 1).map(|port| format!("/ip4/3.3.3.3/tcp/{port}")));
    assert_eq!(known[0].1, expected);
    assert_eq!(known[1], (peer(2), addrs(&["/ip4/4.4.4.4/udp/4/quic-v1"])));
    // A report with nothing to keep forgets the peer, as forgetting does.
    store.record_peer_addrs(&peer(2), &addrs(&[""]), 8).unwrap();
    assert!(store.forget_peer_addrs(&peer(1)).unwrap());
    assert!(!store.forget_peer_addrs(&peer(1)).unwrap());
    assert!(store.known_peer_addrs().unwrap().is_empty());
}

#[test]
fn past_the_peer_cap_the_least_recently_seen_peer_is_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&store_path(&dir), "p").unwrap();
    let addr = addrs(&["/ip4/5.5.5.5/tcp/5"]);
    for index in 0..MAX_KNOWN_PEERS {
        store
            .record_peer_addrs(&peer(index), &addr, 1_000 + index as u64)
            .unwrap();
    }
    // Peer 0 is seen again, so peer 1 is now the least recently seen.
    store.record_peer_addrs(&peer(0), &addr, 5_000).unwrap();
    store
        .record_peer_addrs(&peer(MAX_KNOWN_PEERS), &addr, 5_001)
        .unwrap();
    let known: Vec<String> = store
        .known_peer_addrs()
        .unwrap()
        .into_iter()
        .map(|(peer, _)| peer)
        .collect();
    assert_eq!(known.len(), MAX_KNOWN_PEERS);
    assert!(known.contains(&peer(0)));
    assert!(!known.contains(&peer(1)));
    assert!(known.contains(&peer(MAX_KNOWN_PEERS)));
}

#[test]
fn a_peer_id_over_its_cap_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&store_path(&dir), "p").unwrap();
    for bad in [String::new(), "x".repeat(MAX_PEER_ID_TEXT_BYTES + 1)] {
        let err = store
            .record_peer_addrs(&bad, &addrs(&["/ip4/1.1.1.1/tcp/1"]), 1)
            .unwrap_err();
        assert!(matches!(err, StoreError::Refused { .. }), "{err}");
    }
    assert!(store.known_peer_addrs().unwrap().is_empty());
}

/// Writes a `net_known_addrs` row with redb itself, bypassing the store.
fn write_known_raw(path: &Path, key: &[u8], value: &[u8]) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(KNOWN_ADDRS)
        .unwrap()
        .insert(key, value)
        .unwrap();
    txn.commit().unwrap();
}

#[test]
fn a_known_address_row_over_a_cap_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    // Last seen, then a count one over the cap, with the addresses to match.
    let mut value = 9u64.to_be_bytes().to_vec();
    value.push(MAX_KNOWN_ADDRS_PER_PEER as u8 + 1);
    for _ in 0..=MAX_KNOWN_ADDRS_PER_PEER {
        value.extend_from_slice(&2u16.to_be_bytes());
        value.extend_from_slice(b"/a");
    }
    drop(Store::open(&path, "p").unwrap());
    write_known_raw(&path, peer(1).as_bytes(), &value);
    let before = std::fs::read(&path).unwrap();
    for opened in [Store::open(&path, "p"), Store::open_read_only(&path, "p")] {
        let err = opened.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("net_known_addrs"), "{err}");
    }
    assert!(
        std::fs::read(&path).unwrap() == before,
        "the file was changed"
    );
}

#[test]
fn a_store_of_schema_v5_migrates_and_reads_read_only_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    {
        let store = Store::open(&path, "p").unwrap();
        store.add_peer_addr("/ip4/10.0.0.9/tcp/9", 3).unwrap();
    }
    // Take the file back to schema v5: without the known addresses, one version lower.
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        assert!(txn.delete_table(KNOWN_ADDRS).unwrap());
        txn.open_table(META)
            .unwrap()
            .insert("schema_version", 5)
            .unwrap();
        txn.commit().unwrap();
    }
    assert_eq!(SCHEMA_VERSION, 8);
    let before = std::fs::read(&path).unwrap();
    {
        let store = Store::open_read_only(&path, "p").unwrap();
        assert_eq!(store.schema_version().unwrap(), 5);
        assert!(store.known_peer_addrs().unwrap().is_empty());
        assert_eq!(store.peer_addrs().unwrap(), ["/ip4/10.0.0.9/tcp/9"]);
    }
    assert!(
        std::fs::read(&path).unwrap() == before,
        "the file was changed"
    );
    let store = Store::open(&path, "p").unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(
        store
            .stats()
            .unwrap()
            .tables
            .contains(&("net_known_addrs".to_owned(), 0))
    );
    store
        .record_peer_addrs(&peer(3), &addrs(&["/ip4/6.6.6.6/tcp/6"]), 4)
        .unwrap();
    assert_eq!(store.known_peer_addrs().unwrap().len(), 1);
    assert_eq!(store.peer_addrs().unwrap(), ["/ip4/10.0.0.9/tcp/9"]);
}
