//! Whole-screen snapshots of the TUI on ratatui's TestBackend.

use aura::invite::views::{
    AcceptanceStage, AcceptanceView, ContactView, CreatedView, InvitationStateView, InvitationView,
    InvitationsView,
};
use aura::net::peer_addr::PeerAddr;
use aura::node::{InviteRequest, NodeEvent, PeerAdded, Reach};
use aura::state::trust_level::TrustLevel;
use aura::trust::views::{EdgeView, PathView, TrustEntryView};
use aura::ui::{App, Command, GroupSummary, IdentitySummary, UiEvent, render, update};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use libp2p::{Multiaddr, PeerId};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PEER_A: &str = "12D3KooWAc1mR7sjQ5ZVYHgV3UDWqvA6j5QKMBz1WHGnnZ3Pz1kS";
const PEER_B: &str = "12D3KooWRzNkJUBtuvbA3ygqSq5jf2oq8WtPzR7LNPd2d1j9FvHq";

fn app(width: u16, height: u16) -> App {
    App::new(
        IdentitySummary {
            profile: "alice".into(),
            peer_id: "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
                .parse()
                .unwrap(),
            short_peer_id: "…4kx6nXTN".into(),
            fingerprint: "3f2a 91c0 77de 0b41 c5aa 2e19 8f60 d2b3".into(),
        },
        (width, height),
    )
}

fn screen(app: &App) -> String {
    let (width, height) = app.model.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    terminal.backend().to_string()
}

fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
    update(app, UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(press(app, KeyCode::Char(c)).is_empty());
    }
}

fn peer(text: &str) -> PeerId {
    text.parse().unwrap()
}

/// What a node listening on two addresses with two peers connected reports.
fn online(app: &mut App) {
    let addrs: Vec<Multiaddr> = [
        "/ip4/127.0.0.1/tcp/40123",
        "/ip4/127.0.0.1/udp/40124/quic-v1",
    ]
    .iter()
    .map(|addr| addr.parse().unwrap())
    .collect();
    update(app, UiEvent::Node(NodeEvent::ListenAddrs(addrs)));
    update(
        app,
        UiEvent::Node(NodeEvent::Peers(vec![peer(PEER_A), peer(PEER_B)])),
    );
}

#[test]
fn shell_at_80x24() {
    insta::assert_snapshot!(screen(&app(80, 24)));
}

#[test]
fn shell_at_120x40() {
    insta::assert_snapshot!(screen(&app(120, 40)));
}

#[test]
fn help_open_at_80x24() {
    let mut app = app(80, 24);
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn smallest_supported_size_40x12_with_help() {
    let mut app = app(40, 12);
    let plain = screen(&app);
    assert!(plain.contains("alice"), "{plain}");
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn below_the_minimum_a_notice_replaces_the_screen() {
    insta::assert_snapshot!(screen(&app(39, 11)));
}

#[test]
fn groups_focus_network_and_notices() {
    let mut app = app(80, 24);
    app.model.groups = vec![
        GroupSummary {
            name: "family".into(),
            unread: 3,
        },
        GroupSummary {
            name: "work".into(),
            unread: 0,
        },
    ];
    app.model.notices.push(
        "config: unknown key `ui.theme` in /home/alice/.config/aura/config.toml (ignored)".into(),
    );
    online(&mut app);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn resizing_redraws_to_the_new_size() {
    let mut app = app(120, 40);
    update(&mut app, UiEvent::Resize(60, 16));
    let text = screen(&app);
    assert_eq!(text.lines().count(), 16);
    assert!(
        text.lines().all(|line| line.chars().count() == 62),
        "{text}"
    );
}

#[test]
fn network_screen_at_100x30() {
    let mut app = app(100, 30);
    online(&mut app);
    press(&mut app, KeyCode::Char('n'));
    insta::assert_snapshot!(screen(&app));
    press(&mut app, KeyCode::Esc);
    assert!(app.overlays.is_empty());
}

#[test]
fn help_lists_the_keys_of_the_screen_it_was_opened_over() {
    let mut app = app(80, 24);
    press(&mut app, KeyCode::Char('?'));
    let over_main = screen(&app);
    assert!(over_main.contains("Select the next group"), "{over_main}");
    assert!(!over_main.contains("Add a peer"), "{over_main}");
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char('?'));
    let over_network = screen(&app);
    assert!(
        over_network.contains("a          Add a peer by its address"),
        "{over_network}"
    );
    assert!(
        !over_network.contains("Select the next group"),
        "{over_network}"
    );
    assert!(over_network.contains("Quit Aura"), "{over_network}");
}

/// The network screen with the address prompt open, after Enter on an address without a
/// peer id.
fn prompt_with_an_error(width: u16, height: u16) -> App {
    let mut app = app(width, height);
    online(&mut app);
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char('a'));
    type_text(&mut app, "/ip4/192.0.2.7/tcp/4001");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    app
}

#[test]
fn address_prompt_with_an_error_at_80x24() {
    let app = prompt_with_an_error(80, 24);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn address_prompt_with_an_error_at_40x12() {
    let app = prompt_with_an_error(40, 12);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn address_prompt_scrolls_a_long_address_at_40x12() {
    let mut app = app(40, 12);
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char('a'));
    type_text(&mut app, &format!("/ip4/192.0.2.7/tcp/4001/p2p/{PEER_A}"));
    let text = screen(&app);
    // The prompt's 32 columns inside its frame: the last 31 characters, then the cursor.
    let tail = &PEER_A[PEER_A.len() - 31..];
    assert!(text.contains(&format!("││{tail} ││")), "{text}");
}

/// A peer id that is the same in every run.
fn fixed_peer(seed: u8) -> PeerId {
    libp2p::identity::Keypair::ed25519_from_bytes([seed; 32])
        .unwrap()
        .public()
        .to_peer_id()
}

#[test]
fn peers_being_added_and_added_at_100x30() {
    let mut app = app(100, 30);
    online(&mut app);
    press(&mut app, KeyCode::Char('n'));
    let mut added = Vec::new();
    for (seed, reach) in [
        (7, Some(Reach::Connected)),
        (8, Some(Reach::NotYet("dial timed out\x1b[2J".into()))),
        (9, None),
    ] {
        press(&mut app, KeyCode::Char('a'));
        let address = format!("/ip4/192.0.2.{seed}/tcp/4001/p2p/{}", fixed_peer(seed));
        type_text(&mut app, &address);
        let commands = press(&mut app, KeyCode::Enter);
        let [Command::AddPeer(addr)] = commands.as_slice() else {
            panic!("{commands:?}")
        };
        added.push((addr.clone(), reach));
    }
    for (addr, reach) in added {
        if let Some(reach) = reach {
            let result = Ok(PeerAdded {
                addr: addr.clone(),
                fresh: true,
                reach,
            });
            update(&mut app, UiEvent::PeerAdded { addr, result });
        }
    }
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn an_address_typed_in_the_prompt_is_the_one_handed_to_the_node() {
    let mut app = app(80, 24);
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char('a'));
    let text = format!("/ip4/192.0.2.7/tcp/4001/p2p/{PEER_B}");
    type_text(&mut app, &text);
    let own = app.model.identity.peer_id;
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        [Command::AddPeer(PeerAddr::parse(&text, &own).unwrap())]
    );
}

/// 2026-12-07 14:40 UTC.
const NOW_MS: u64 = 1_796_654_400_000;
const MINUTE_MS: u64 = 60_000;
const CODE: &str = "aura1qgpsgpgxquyqjzstpsxsurcszyfpx9q4zct3sxg6rvwp68slyqgpsgpgxquyqjzstpsxsurcszyfpx9q4zct3sxg6rvwp68slyqgpsgpgxquyqjzstpsxsurcszyfpx9q4zct3sxg6rvwp68slyqgpsgpgxquyqjzstpsxs";

fn press_char(app: &mut App, c: char) -> Vec<Command> {
    press(app, KeyCode::Char(c))
}

/// The app on the invitations screen at `now`.
fn on_invitations(width: u16, height: u16) -> App {
    let mut app = app(width, height);
    update(&mut app, UiEvent::Clock(NOW_MS));
    update(&mut app, UiEvent::ProfileName("Alice".into()));
    assert_eq!(press_char(&mut app, 'i'), [Command::RefreshInvitations]);
    app
}

#[test]
fn first_run_asks_for_a_display_name_at_80x24() {
    let mut app = app(80, 24);
    update(&mut app, UiEvent::ProfileName(String::new()));
    type_text(&mut app, "Ali");
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn invitations_with_a_created_code_at_80x24() {
    let mut app = on_invitations(80, 24);
    press_char(&mut app, 'n');
    let commands = press(&mut app, KeyCode::Enter);
    let [Command::CreateInvitation(options)] = commands.as_slice() else {
        panic!("{commands:?}")
    };
    assert_eq!(options.uses, 1);
    let created = CreatedView {
        id: "1a2b3c4d".into(),
        code: CODE.into(),
        expires_at_ms: Some(NOW_MS + 24 * 60 * MINUTE_MS),
        uses: 1,
        approve: false,
        addrs: vec!["/ip4/127.0.0.1/tcp/40123".into()],
    };
    let commands = update(&mut app, UiEvent::InvitationCreated(Ok(created)));
    assert_eq!(
        commands,
        [
            Command::CopyToClipboard(CODE.into()),
            Command::RefreshInvitations
        ]
    );
    let text = screen(&app);
    // The code's lines hold the code and nothing else: joined, they are the code.
    let lines: Vec<&str> = text.lines().collect();
    let heading = lines
        .iter()
        .position(|line| line.contains("Code:"))
        .expect("the code's heading");
    let joined: String = lines[heading + 1..]
        .iter()
        .map(|line| line.trim_matches('"').trim())
        .take_while(|line| !line.is_empty())
        .collect();
    assert_eq!(joined, CODE, "{text}");
    insta::assert_snapshot!(text);
}

fn acceptance(stage: AcceptanceStage) -> AcceptanceView {
    AcceptanceView {
        id: "5e6f7a8b".into(),
        inviter: PEER_A.into(),
        note: "from Bob, for the climbing group".into(),
        started_ms: NOW_MS - MINUTE_MS,
        give_up_ms: NOW_MS + 48 * 60 * MINUTE_MS,
        stage,
    }
}

/// The invitations screen after pasting a code and pressing Enter.
fn accepting(width: u16, height: u16) -> App {
    let mut app = on_invitations(width, height);
    press_char(&mut app, 'p');
    update(&mut app, UiEvent::Paste(CODE.into()));
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        [Command::AcceptInvitation(CODE.into())]
    );
    app
}

#[test]
fn invitations_with_an_acceptance_waiting_for_the_inviter_at_80x24() {
    let mut app = accepting(80, 24);
    update(
        &mut app,
        UiEvent::AcceptanceStarted(Ok(acceptance(AcceptanceStage::Connecting))),
    );
    let waiting = AcceptanceStage::Waiting {
        next_try_ms: NOW_MS + 12_000,
        errors: vec![(
            "/ip4/127.0.0.1/tcp/40123".into(),
            "connection refused\u{1b}[31m".into(),
        )],
    };
    let commands = update(
        &mut app,
        UiEvent::Node(NodeEvent::Acceptance(acceptance(waiting))),
    );
    assert_eq!(commands, [Command::RefreshInvitations]);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn invitations_with_a_failed_acceptance_at_80x24() {
    let mut app = accepting(80, 24);
    let typo = "the code has a typo: its checksum does not match (check the characters around \
                position 17)";
    update(&mut app, UiEvent::AcceptanceStarted(Err(typo.into())));
    let text = screen(&app);
    assert!(text.contains("failed: the code has a typo"), "{text}");
    insta::assert_snapshot!(text);
}

fn invitation(id: &str, state: InvitationStateView) -> InvitationView {
    InvitationView {
        id: id.into(),
        created_ms: NOW_MS - 60 * MINUTE_MS,
        expires_at_ms: Some(NOW_MS + 23 * 60 * MINUTE_MS),
        uses: 1,
        note: String::new(),
        approve: false,
        state,
        accepted_by: Vec::new(),
        awaiting_answer: Vec::new(),
    }
}

#[test]
fn invitations_lists_mine_and_theirs_at_100x30() {
    let mut app = on_invitations(100, 30);
    let mut used = invitation("1a2b3c4d", InvitationStateView::UsedUp);
    used.accepted_by = vec![("Bob".into(), PEER_B.into(), NOW_MS - 30 * MINUTE_MS)];
    used.note = "for Bob".into();
    let mut asking = invitation("9c8d7e6f", InvitationStateView::Open);
    asking.approve = true;
    asking.uses = 5;
    asking.awaiting_answer = vec![("Carol".into(), PEER_A.into())];
    let mut never = invitation("00ff00ff", InvitationStateView::Revoked);
    never.expires_at_ms = None;
    let view = InvitationsView {
        mine: vec![
            used,
            asking,
            never,
            invitation("77777777", InvitationStateView::Expired),
        ],
        theirs: vec![acceptance(AcceptanceStage::AwaitingApproval {
            next_try_ms: NOW_MS + 30_000,
        })],
    };
    update(&mut app, UiEvent::Invitations(Ok(view)));
    press_char(&mut app, 'j');
    insta::assert_snapshot!(screen(&app));
    let approve = InviteRequest::Answer {
        id: "9c8d7e6f".into(),
        approve: true,
    };
    assert_eq!(press_char(&mut app, 'a'), [Command::Invite(approve)]);
}

fn contact(name: &str, label: &str, peer: &str, online: bool) -> ContactView {
    ContactView {
        peer_id: peer.into(),
        name: name.into(),
        nickname: None,
        label: label.into(),
        since_ms: NOW_MS - 3 * 24 * 60 * MINUTE_MS,
        online: Some(online),
        ended: None,
    }
}

const PEER_C: &str = "12D3KooWCa9oLq2xVnB7ycT3hE1sPzK8mW4uJ6fR5dA2gY3tN7bQ";

fn entry(label: &str, peer: &str, level: &str, shared: Option<bool>) -> TrustEntryView {
    TrustEntryView {
        peer_id: peer.into(),
        label: label.into(),
        level: level.into(),
        hops: 1,
        via: None,
        shared,
        direct: shared.map(|_| level.to_owned()),
    }
}

/// Carol, reached through Bob: Alice trusts Bob at High, Bob attests Carol at High.
fn carol_through_bob() -> Vec<PathView> {
    let edge = |from: &str, to: &str, date: &str, attested_by: Option<&str>| EdgeView {
        from: from.into(),
        to: to.into(),
        level: "High".into(),
        date: date.into(),
        attested_by: attested_by.map(str::to_owned),
    };
    vec![PathView {
        level: "Medium".into(),
        words: "Medium: you trust Bob at High (since 2026-12-02); Bob trusts Carol at High \
                (attested 2026-12-03); one extra hop lowers High to Medium"
            .into(),
        edges: vec![
            edge("you", "Bob (…nZ3Pz1kS)", "2026-12-02", None),
            edge(
                "Bob (…nZ3Pz1kS)",
                "Carol",
                "2026-12-03",
                Some("Bob (…nZ3Pz1kS)"),
            ),
        ],
    }]
}

/// The contacts-and-trust page with three contacts (two names colliding, one nickname and a
/// name with an escape in it), a peer reached through one of them, and the path to it shown.
fn contacts_and_trust(width: u16, height: u16) -> App {
    let mut app = app(width, height);
    update(&mut app, UiEvent::ProfileName("Alice".into()));
    assert_eq!(
        press_char(&mut app, 'c'),
        [Command::RefreshContacts, Command::RefreshTrust]
    );
    let mut nicknamed = contact("Dave", "Dave\u{1b}[2J", PEER_B, false);
    nicknamed.nickname = Some("Dave\u{1b}[2J".into());
    let contacts = vec![contact("Bob", "Bob (…nZ3Pz1kS)", PEER_A, true), nicknamed];
    update(&mut app, UiEvent::Contacts(Ok(contacts)));
    let mut carol = entry("Carol", PEER_C, "medium", None);
    carol.hops = 2;
    carol.via = Some("Bob (…nZ3Pz1kS)".into());
    let trust = vec![
        entry("Bob (…nZ3Pz1kS)", PEER_A, "high", Some(true)),
        carol,
        entry("Dave\u{1b}[2J", PEER_B, "none", Some(false)),
    ];
    assert!(update(&mut app, UiEvent::Trust(Ok(trust))).is_empty());
    press_char(&mut app, 'j');
    assert_eq!(
        press_char(&mut app, 'j'),
        [Command::ExplainTrust(PEER_C.into())]
    );
    update(
        &mut app,
        UiEvent::TrustPaths {
            peer_id: PEER_C.into(),
            result: Ok(carol_through_bob()),
        },
    );
    app
}

#[test]
fn contacts_and_trust_with_a_path_of_two_edges_at_100x24() {
    let mut app = contacts_and_trust(100, 24);
    let text = screen(&app);
    assert!(text.contains("Dave\u{FFFD}[2J"), "{text}");
    insta::assert_snapshot!(text);
    // A peer reached only through others has no level, sharing or name of this device's.
    assert!(press_char(&mut app, '+').is_empty());
    assert!(screen(&app).contains("Reached only through others"));
    press_char(&mut app, 'k');
    assert_eq!(
        press_char(&mut app, 's'),
        [Command::Invite(InviteRequest::Share {
            target: PEER_B.into(),
            on: true
        })]
    );
    // Dave is at none: lower is refused, raise is low.
    assert!(press_char(&mut app, '-').is_empty());
    assert!(screen(&app).contains("Already at none"));
    assert_eq!(
        press_char(&mut app, '+'),
        [Command::Invite(InviteRequest::SetTrust {
            target: PEER_B.into(),
            level: TrustLevel::Low
        })]
    );
    press_char(&mut app, 'x');
    assert_eq!(
        press_char(&mut app, 'y'),
        [Command::Invite(InviteRequest::Remove(PEER_B.into()))]
    );
    press_char(&mut app, 'k');
    assert_eq!(
        press_char(&mut app, '-'),
        [Command::Invite(InviteRequest::SetTrust {
            target: PEER_A.into(),
            level: TrustLevel::Medium
        })]
    );
    assert_eq!(
        press_char(&mut app, 's'),
        [Command::Invite(InviteRequest::Share {
            target: PEER_A.into(),
            on: false
        })]
    );
    press_char(&mut app, 'r');
    type_text(&mut app, "Bobby");
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        [Command::Invite(InviteRequest::Rename {
            target: PEER_A.into(),
            nickname: "Bobby".into()
        })]
    );
    // The list arriving again asks again why the peer shown is where it is.
    assert_eq!(
        update(&mut app, UiEvent::Trust(Ok(Vec::new()))),
        [Command::ExplainTrust(PEER_C.into())]
    );
}

#[test]
fn contacts_and_trust_at_40x12_and_80x24() {
    insta::assert_snapshot!(
        "contacts_and_trust_40x12",
        screen(&contacts_and_trust(40, 12))
    );
    insta::assert_snapshot!(
        "contacts_and_trust_80x24",
        screen(&contacts_and_trust(80, 24))
    );
}

#[test]
fn a_peer_with_no_path_says_why_in_the_panel() {
    let mut app = contacts_and_trust(80, 24);
    update(
        &mut app,
        UiEvent::TrustPaths {
            peer_id: PEER_C.into(),
            result: Ok(vec![PathView {
                level: "None".into(),
                words: "Carol is not reached: no path from you within 3 hops".into(),
                edges: Vec::new(),
            }]),
        },
    );
    let text = screen(&app);
    assert!(text.contains("Why Carol has no level"), "{text}");
    assert!(text.contains("no path from you within 3 hops"), "{text}");
}

#[test]
fn a_long_invitations_page_scrolls_to_keep_the_selected_one_in_view_at_40x12() {
    let mut app = on_invitations(40, 12);
    let mine = (0..20)
        .map(|n| invitation(&format!("{n:08x}"), InvitationStateView::Open))
        .collect();
    let view = InvitationsView {
        mine,
        theirs: Vec::new(),
    };
    update(&mut app, UiEvent::Invitations(Ok(view)));
    for _ in 0..15 {
        press_char(&mut app, 'j');
    }
    let text = screen(&app);
    assert!(text.contains("› 0000000f"), "{text}");
    assert_eq!(
        press_char(&mut app, 'x'),
        [Command::Invite(InviteRequest::Revoke("0000000f".into()))]
    );
}
