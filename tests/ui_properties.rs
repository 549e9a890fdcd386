//! Random key, resize, paste and node sequences (reaching every screen: invitations, contacts,
//! the first-run prompt) never panic the UI, notices stay sanitized and bounded, quitting happens only on a quit key
//! outside a text field, and any printable text typed into a text field is text: it appears in
//! the field verbatim and does nothing else.

use aura::invite::views::{
    AcceptanceStage, AcceptanceView, ContactView, CreatedView, InvitationStateView, InvitationView,
    InvitationsView,
};
use aura::node::{InviteRequest, NodeEvent};
use aura::ui::relations::MAX_NOTICES;
use aura::ui::text::is_printable;
use aura::ui::text_field::MAX_CHARS;
use aura::ui::{App, Command, GroupSummary, IdentitySummary, UiEvent, render, update};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use libp2p::PeerId;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

fn identity() -> IdentitySummary {
    IdentitySummary {
        profile: "p".into(),
        peer_id: "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
            .parse()
            .unwrap(),
        short_peer_id: "…4kx6nXTN".into(),
        fingerprint: "3f2a 91c0".into(),
    }
}

fn key_code() -> impl Strategy<Value = KeyCode> {
    prop_oneof![
        any::<char>().prop_map(KeyCode::Char),
        prop::sample::select(vec![
            'q', '?', 'j', 'k', 'c', 'n', 'a', '/', 'i', 'p', 'd', 'x', 'r', 'y', ' '
        ])
        .prop_map(KeyCode::Char),
        (0u8..=24).prop_map(KeyCode::F),
        prop::sample::select(vec![
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Enter,
            KeyCode::Backspace,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Delete,
            KeyCode::Insert,
            KeyCode::Null,
        ]),
    ]
}

fn event() -> impl Strategy<Value = UiEvent> {
    prop_oneof![
        6 => (key_code(), 0u8..16, prop::bool::weighted(0.1)).prop_map(|(code, bits, release)| {
            let mut key = KeyEvent::new(code, KeyModifiers::from_bits_truncate(bits));
            if release {
                key.kind = KeyEventKind::Release;
            }
            UiEvent::Key(key)
        }),
        2 => (0u16..=300, 0u16..=120).prop_map(|(w, h)| UiEvent::Resize(w, h)),
        1 => Just(UiEvent::Tick),
        1 => (0usize..4).prop_map(|n| {
            UiEvent::Node(NodeEvent::Peers((0..n).map(|_| PeerId::random()).collect()))
        }),
        1 => Just(UiEvent::Node(NodeEvent::ListenAddrs(vec![
            "/ip4/127.0.0.1/tcp/4001".parse().unwrap(),
        ]))),
        3 => relations_event(),
    ]
}

/// What the node says about names, invitations and contacts, with text a peer may have
/// written anywhere it can.
fn relations_event() -> impl Strategy<Value = UiEvent> {
    let text = || ".{0,40}";
    let stage = || {
        prop_oneof![
            Just(AcceptanceStage::Connecting),
            Just(AcceptanceStage::Proving),
            (
                any::<u64>(),
                prop::collection::vec((".{0,20}", ".{0,60}"), 0..3)
            )
                .prop_map(|(next_try_ms, errors)| AcceptanceStage::Waiting {
                    next_try_ms,
                    errors
                }),
            ".{0,200}".prop_map(|reason| AcceptanceStage::Failed { reason }),
            ".{0,60}".prop_map(|peer_name| AcceptanceStage::Done { peer_name }),
        ]
    };
    let acceptance = move || {
        (text(), text(), any::<u64>(), stage()).prop_map(|(id, note, at, stage)| AcceptanceView {
            id,
            inviter: "12D3KooW".into(),
            note,
            started_ms: at / 2,
            give_up_ms: at,
            stage,
        })
    };
    let invitation = (text(), text(), any::<Option<u64>>(), 0u32..4, text()).prop_map(
        |(id, note, expires_at_ms, state, name)| InvitationView {
            id,
            created_ms: 0,
            expires_at_ms,
            uses: state,
            note,
            approve: state == 0,
            state: [
                InvitationStateView::Open,
                InvitationStateView::UsedUp,
                InvitationStateView::Revoked,
                InvitationStateView::Expired,
            ][state as usize],
            accepted_by: vec![(name.clone(), "p".into(), 0)],
            awaiting_answer: vec![(name, "p".into())],
        },
    );
    let contact = (text(), text(), any::<Option<bool>>(), any::<u64>()).prop_map(
        |(name, label, online, since_ms)| ContactView {
            peer_id: "12D3KooW".into(),
            nickname: online.map(|_| label.clone()),
            name,
            label,
            since_ms,
            online,
            ended: None,
        },
    );
    prop_oneof![
        prop_oneof![Just(String::new()), text()].prop_map(UiEvent::ProfileName),
        ".{0,300}".prop_map(UiEvent::Paste),
        any::<u64>().prop_map(UiEvent::Clock),
        (
            prop::collection::vec(invitation, 0..4),
            prop::collection::vec(acceptance(), 0..3)
        )
            .prop_map(|(mine, theirs)| UiEvent::Invitations(Ok(InvitationsView { mine, theirs }))),
        prop::collection::vec(contact, 0..4).prop_map(|contacts| UiEvent::Contacts(Ok(contacts))),
        (".{0,400}", any::<Option<u64>>()).prop_map(|(code, expires_at_ms)| {
            UiEvent::InvitationCreated(Ok(CreatedView {
                id: "1a2b3c4d".into(),
                code,
                expires_at_ms,
                uses: 1,
                approve: false,
                addrs: Vec::new(),
            }))
        }),
        acceptance().prop_map(|view| UiEvent::AcceptanceStarted(Ok(view))),
        text().prop_map(|error| UiEvent::AcceptanceStarted(Err(error))),
        acceptance().prop_map(|view| UiEvent::Node(NodeEvent::Acceptance(view))),
        (text(), text())
            .prop_map(|(id, by)| UiEvent::Node(NodeEvent::InvitationAccepted { id, by })),
        (text(), text())
            .prop_map(|(id, name)| UiEvent::Node(NodeEvent::ApprovalRequested { id, name })),
        Just(UiEvent::Node(NodeEvent::ContactsChanged)),
        (text(), any::<bool>()).prop_map(|(result, ok)| UiEvent::InviteAnswered {
            request: InviteRequest::SetName("x".into()),
            result: if ok { Ok(result) } else { Err(result) },
        }),
    ]
}

fn is_key(event: &UiEvent, code: KeyCode, modifiers: KeyModifiers) -> bool {
    let UiEvent::Key(key) = event else {
        return false;
    };
    key.kind != KeyEventKind::Release
        && key.code == code
        && key.modifiers - KeyModifiers::SHIFT == modifiers
}

/// A character the user can type into a text field, with the keys that are commands elsewhere
/// drawn often.
fn printable() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>().prop_filter("printable", |c| is_printable(*c)),
        1 => prop::sample::select(vec!['q', 'Q', '?', 'n', 'j', 'k', 'a', ' ', '/', '日', '👋']),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_input_never_panics(events in prop::collection::vec(event(), 0..60), groups in 0usize..5) {
        let mut app = App::new(identity(), (80, 24));
        app.model.groups = (0..groups)
            .map(|i| GroupSummary { name: format!("g{i}"), unread: i })
            .collect();
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        for event in events {
            let typing = app.typing();
            let quit_expected = is_key(&event, KeyCode::Char('c'), KeyModifiers::CONTROL)
                || (!typing && is_key(&event, KeyCode::Char('q'), KeyModifiers::NONE));
            let enter = is_key(&event, KeyCode::Enter, KeyModifiers::NONE);
            if let UiEvent::Resize(w, h) = event {
                terminal.resize(Rect::new(0, 0, w, h)).unwrap();
            }
            let commands = update(&mut app, event);
            prop_assert_eq!(commands.contains(&Command::Quit), quit_expected);
            let adds = commands.iter().filter(|c| matches!(c, Command::AddPeer(_))).count();
            prop_assert!(adds == 0 || (adds == 1 && typing && enter), "{:?}", commands);
            terminal.draw(|frame| render(&app, frame)).unwrap();
            // Nothing a peer wrote reaches the screen unsanitized.
            for notice in &app.model.notices {
                prop_assert!(notice.chars().all(is_printable), "{:?}", notice);
            }
            prop_assert!(app.model.notices.len() <= MAX_NOTICES);
        }
    }

    #[test]
    fn printable_text_typed_into_a_field_is_text_and_nothing_else(
        text in prop::collection::vec(printable(), 0..300),
        shifts in prop::collection::vec(any::<bool>(), 300),
    ) {
        let mut app = App::new(identity(), (80, 24));
        for c in ['n', 'a'] {
            update(&mut app, UiEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
        }
        prop_assert!(app.typing());
        let stack: Vec<&str> = app.overlays.iter().map(|layer| layer.name()).collect();
        let screen = app.screen.clone();
        let model = app.model.clone();
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        for (&c, &shift) in text.iter().zip(&shifts) {
            let modifiers = if shift { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
            let commands = update(&mut app, UiEvent::Key(KeyEvent::new(KeyCode::Char(c), modifiers)));
            prop_assert!(commands.is_empty(), "{:?} gave {:?}", c, commands);
            let now: Vec<&str> = app.overlays.iter().map(|layer| layer.name()).collect();
            prop_assert_eq!(&now, &stack);
        }
        prop_assert_eq!(&app.screen, &screen);
        prop_assert_eq!(&app.model, &model);
        let typed: String = text.iter().take(MAX_CHARS).collect();
        let field = app.focused().text_field().unwrap();
        prop_assert_eq!(field.value(), typed);
        prop_assert_eq!(field.cursor(), text.len().min(MAX_CHARS));
        terminal.draw(|frame| render(&app, frame)).unwrap();
    }
}
