//! The pure heart of the UI: an event changes the view model and may ask the shell to act.
//!
//! A key goes to the focused layer first (its own table), then, while a text field has focus,
//! to the field (any key that types a character is text there), then to the global table.

use crossterm::event::{KeyEvent, KeyEventKind};

use super::app::{App, Model, NetView};
use super::keymap::{Global, global_action};
use super::relations::{
    Accepting, Explained, Outcome, sanitize_acceptance, sanitize_contact, sanitize_created,
    sanitize_invitations, sanitize_path, sanitize_trust_entry,
};
use super::screen::{Effect, Layer};
use super::screens::{HelpScreen, Prompt};
use super::text::sanitize;
use crate::invite::views::{AcceptanceView, ContactView, CreatedView, InvitationsView};
use crate::net::peer_addr::PeerAddr;
use crate::node::{InviteOptions, InviteRequest, NodeEvent, PeerAdded};
use crate::trust::views::{PathView, TrustEntryView};

/// Everything the UI reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiEvent {
    Key(KeyEvent),
    /// Text the terminal says was pasted (bracketed paste): it goes to the focused text field
    /// whole, and is never taken for keys.
    Paste(String),
    Resize(u16, u16),
    /// Time passed; lets time-dependent text refresh.
    Tick,
    /// Time passed, and it is now this many milliseconds since the Unix epoch.
    Clock(u64),
    /// Something changed in the node.
    Node(NodeEvent),
    /// The node's answer to [`Command::AddPeer`] for `addr`.
    PeerAdded {
        addr: PeerAddr,
        result: Result<PeerAdded, String>,
    },
    /// This device's display name, empty when none was set (a first run).
    ProfileName(String),
    /// The answer to [`Command::RefreshInvitations`].
    Invitations(Result<InvitationsView, String>),
    /// The answer to [`Command::RefreshContacts`].
    Contacts(Result<Vec<ContactView>, String>),
    /// The answer to [`Command::RefreshTrust`].
    Trust(Result<Vec<TrustEntryView>, String>),
    /// The answer to [`Command::ExplainTrust`] for the peer `peer_id`.
    TrustPaths {
        peer_id: String,
        result: Result<Vec<PathView>, String>,
    },
    /// The answer to [`Command::CreateInvitation`].
    InvitationCreated(Result<CreatedView, String>),
    /// The answer to [`Command::AcceptInvitation`]: where the acceptance stands.
    AcceptanceStarted(Result<AcceptanceView, String>),
    /// The answer to [`Command::Invite`]: what was done, in a sentence.
    InviteAnswered {
        request: InviteRequest,
        result: Result<String, String>,
    },
}

/// What the user asks for that the UI cannot do itself: the shell performs it (through the
/// node's client, never blocking the UI) and feeds any answer back as a [`UiEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
    /// Save this peer's address and dial it; answered by [`UiEvent::PeerAdded`].
    AddPeer(PeerAddr),
    /// Answered by [`UiEvent::Invitations`].
    RefreshInvitations,
    /// Answered by [`UiEvent::Contacts`].
    RefreshContacts,
    /// Answered by [`UiEvent::Trust`].
    RefreshTrust,
    /// Why this peer (a peer id) is at its level; answered by [`UiEvent::TrustPaths`].
    ExplainTrust(String),
    /// Answered by [`UiEvent::InvitationCreated`].
    CreateInvitation(InviteOptions),
    /// A code as pasted; answered by [`UiEvent::AcceptanceStarted`], then node events.
    AcceptInvitation(String),
    /// Set the name, revoke, answer, rename, remove, set a trust level or sharing; answered
    /// by [`UiEvent::InviteAnswered`].
    Invite(InviteRequest),
    /// Put this text on the terminal's clipboard (OSC 52), written by the shell.
    CopyToClipboard(String),
}

pub fn update(app: &mut App, event: UiEvent) -> Vec<Command> {
    match event {
        UiEvent::Key(key) if key.kind != KeyEventKind::Release => on_key(app, &key),
        UiEvent::Key(_) | UiEvent::Tick => Vec::new(),
        UiEvent::Paste(text) => {
            if let Some(field) = app.focused_mut().0.text_field_mut() {
                field.insert_str(&text);
            }
            Vec::new()
        }
        UiEvent::Clock(now_ms) => {
            app.model.now_ms = now_ms;
            Vec::new()
        }
        UiEvent::Resize(width, height) => {
            app.model.size = (width, height);
            Vec::new()
        }
        UiEvent::Node(event) => on_node_event(&mut app.model, event),
        UiEvent::PeerAdded { addr, result } => {
            app.model.network.added(addr, result);
            Vec::new()
        }
        UiEvent::ProfileName(name) => {
            on_profile_name(app, &name);
            Vec::new()
        }
        UiEvent::Invitations(result) => {
            match result {
                Ok(view) => app.model.relations.invitations = sanitize_invitations(view),
                Err(error) => app.model.relations.outcome = Some(failed(&error)),
            }
            Vec::new()
        }
        UiEvent::Contacts(result) => {
            match result {
                Ok(contacts) => {
                    app.model.relations.contacts =
                        contacts.into_iter().map(sanitize_contact).collect();
                }
                Err(error) => app.model.relations.outcome = Some(failed(&error)),
            }
            Vec::new()
        }
        UiEvent::Trust(result) => {
            let relations = &mut app.model.relations;
            match result {
                Ok(entries) => {
                    relations.trust = entries.into_iter().map(sanitize_trust_entry).collect();
                }
                Err(error) => relations.outcome = Some(failed(&error)),
            }
            // Levels may have moved: the explanation on screen is asked for again.
            relations
                .explained
                .as_ref()
                .map(|shown| Command::ExplainTrust(shown.peer_id.clone()))
                .into_iter()
                .collect()
        }
        UiEvent::TrustPaths { peer_id, result } => {
            app.model.relations.explained = Some(Explained {
                peer_id: sanitize(&peer_id),
                answer: result
                    .map(|paths| paths.into_iter().map(sanitize_path).collect())
                    .map_err(|error| sanitize(&error)),
            });
            Vec::new()
        }
        UiEvent::InvitationCreated(result) => match result {
            Ok(created) => {
                let created = sanitize_created(created);
                let code = created.code.clone();
                app.model.relations.created = Some(created);
                app.model.relations.outcome = None;
                vec![Command::CopyToClipboard(code), Command::RefreshInvitations]
            }
            Err(error) => {
                app.model.relations.outcome = Some(failed(&error));
                Vec::new()
            }
        },
        UiEvent::AcceptanceStarted(result) => {
            let relations = &mut app.model.relations;
            match result {
                Ok(view) => {
                    // The node answers with the acceptance as it stood; events may have
                    // moved it on already, and `acceptance_moved` keeps the newest.
                    if relations.accepting == Some(Accepting::Sending) {
                        relations.accepting = Some(Accepting::Progress(sanitize_acceptance(view)));
                    } else {
                        relations.acceptance_moved(view);
                    }
                }
                Err(error) => relations.accepting = Some(Accepting::Refused(sanitize(&error))),
            }
            vec![Command::RefreshInvitations]
        }
        UiEvent::InviteAnswered { request, result } => on_invite_answered(app, request, result),
    }
}

fn failed(error: &str) -> Outcome {
    Outcome::Failed(sanitize(error))
}

/// A first run (no name yet) opens the name prompt over everything, once.
fn on_profile_name(app: &mut App, name: &str) {
    let name = sanitize(name.trim());
    let unnamed = name.is_empty();
    app.model.relations.profile_name = Some(name);
    let prompting = app
        .overlays
        .iter()
        .any(|layer| matches!(layer, Layer::Prompt(prompt) if prompt.is_name_prompt()));
    if unnamed && !prompting {
        app.overlays.push(Prompt::first_run_name().into());
    }
}

fn on_invite_answered(
    app: &mut App,
    request: InviteRequest,
    result: Result<String, String>,
) -> Vec<Command> {
    let model = &mut app.model;
    match result {
        Ok(done) => {
            // The name's confirmation would otherwise linger on the invitations page, which
            // did not ask for it; the welcome already says the name.
            if let InviteRequest::SetName(name) = &request {
                model.relations.profile_name = Some(sanitize(name.trim()));
            } else {
                model.relations.outcome = Some(Outcome::Done(sanitize(&done)));
            }
        }
        Err(error) => {
            if matches!(request, InviteRequest::SetName(_)) {
                model.notify(format!("the name was not saved: {}", sanitize(&error)));
            }
            model.relations.outcome = Some(failed(&error));
        }
    }
    vec![
        Command::RefreshInvitations,
        Command::RefreshContacts,
        Command::RefreshTrust,
    ]
}

fn on_key(app: &mut App, key: &KeyEvent) -> Vec<Command> {
    let typing = app.typing();
    let (layer, model) = app.focused_mut();
    if let Some(effects) = layer.on_key(key, model) {
        return apply(app, effects);
    }
    if let Some(field) = layer.text_field_mut() {
        if field.edit(key) {
            return Vec::new();
        }
    }
    match global_action(key, typing) {
        Some(Global::Help) => {
            let help = HelpScreen::over(app.focused());
            app.overlays.push(help.into());
            Vec::new()
        }
        Some(Global::Quit) => vec![Command::Quit],
        None => Vec::new(),
    }
}

/// Changes the overlay stack as `effects` ask, and returns the commands among them.
fn apply(app: &mut App, effects: Vec<Effect>) -> Vec<Command> {
    let mut commands = Vec::new();
    for effect in effects {
        match effect {
            Effect::Close => {
                app.overlays.pop();
            }
            Effect::Open(layer) => app.overlays.push(layer),
            Effect::Command(command) => commands.push(command),
        }
    }
    commands
}

/// The model as the node now reports it. Each network event carries the whole new state of
/// what it is about; the others say what changed, and the lists they touch are asked for again.
fn on_node_event(model: &mut Model, event: NodeEvent) -> Vec<Command> {
    let net: &mut NetView = &mut model.network;
    match event {
        NodeEvent::ListenAddrs(addrs) => {
            net.listen_addrs = addrs
                .iter()
                .map(|addr| sanitize(&addr.to_string()))
                .collect();
            net.reported = true;
            Vec::new()
        }
        NodeEvent::Peers(peers) => {
            net.peers = peers
                .iter()
                .map(|peer| sanitize(&peer.to_string()))
                .collect();
            net.reported = true;
            // Contacts carry whether each is online.
            vec![Command::RefreshContacts]
        }
        NodeEvent::FactsStored { .. } => Vec::new(),
        NodeEvent::Acceptance(view) => {
            let finished = view.stage.is_final();
            model.relations.acceptance_moved(view);
            let mut commands = vec![Command::RefreshInvitations];
            if finished {
                commands.push(Command::RefreshContacts);
            }
            commands
        }
        NodeEvent::InvitationAccepted { id, by } => {
            model.notify(format!(
                "{} accepted invitation {}",
                sanitize(&by),
                sanitize(&id)
            ));
            vec![Command::RefreshInvitations, Command::RefreshContacts]
        }
        NodeEvent::ApprovalRequested { id, name } => {
            model.notify(format!(
                "{} wants to accept {}: approve with a / decline with d on the invitations screen",
                sanitize(&name),
                sanitize(&id)
            ));
            vec![Command::RefreshInvitations]
        }
        // Facts in a contact's context: names, the relationship, trust and attestations.
        NodeEvent::ContactsChanged => vec![Command::RefreshContacts, Command::RefreshTrust],
        // The chat screens read groups from the node when they are drawn (the chat issue).
        NodeEvent::GroupsChanged | NodeEvent::GroupMessages { .. } => Vec::new(),
    }
}

/// Who "this device" is in unit tests: a fixed key, so a valid peer id.
#[cfg(test)]
pub(crate) fn test_identity() -> super::app::IdentitySummary {
    let key = libp2p::identity::Keypair::ed25519_from_bytes([7; 32]).unwrap();
    super::app::IdentitySummary {
        profile: "test".into(),
        peer_id: key.public().to_peer_id(),
        short_peer_id: "…test".into(),
        fingerprint: "0000".into(),
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};
    use libp2p::{Multiaddr, PeerId};

    use super::*;
    use crate::net::NetworkStatus;
    use crate::ui::app::GroupSummary;
    use crate::ui::keymap::in_force;
    use crate::ui::screen::Layer;

    fn app() -> App {
        App::new(test_identity(), (80, 24))
    }

    fn key(code: KeyCode) -> UiEvent {
        UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
        update(app, key(code))
    }

    fn names(app: &App) -> Vec<&'static str> {
        app.overlays.iter().map(Layer::name).collect()
    }

    #[test]
    fn question_mark_opens_help_over_the_focused_screen_and_closes_it() {
        let mut app = app();
        press(&mut app, KeyCode::Char('?'));
        assert_eq!(names(&app), ["Help"]);
        press(&mut app, KeyCode::Char('?'));
        assert!(app.overlays.is_empty());
        press(&mut app, KeyCode::Char('n'));
        press(&mut app, KeyCode::Char('?'));
        assert_eq!(names(&app), ["Network", "Help"]);
    }

    #[test]
    fn escape_closes_the_top_overlay_and_is_inert_on_the_main_screen() {
        let mut app = app();
        press(&mut app, KeyCode::Char('n'));
        press(&mut app, KeyCode::Char('?'));
        press(&mut app, KeyCode::Esc);
        assert_eq!(names(&app), ["Network"]);
        press(&mut app, KeyCode::Esc);
        assert!(app.overlays.is_empty());
        let before = app.clone();
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert_eq!(app, before);
    }

    #[test]
    fn q_and_ctrl_c_quit_over_any_screen_without_a_text_field() {
        for opened in [&[][..], &['?'], &['n'], &['n', '?']] {
            let mut app = app();
            for &c in opened {
                press(&mut app, KeyCode::Char(c));
            }
            assert_eq!(press(&mut app, KeyCode::Char('q')), [Command::Quit]);
            let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
            assert_eq!(update(&mut app, UiEvent::Key(ctrl_c)), [Command::Quit]);
        }
    }

    #[test]
    fn every_key_in_force_does_something_on_every_screen() {
        for layer in Layer::every_layer() {
            let keys = in_force(&layer.keys(), layer.text_field().is_some());
            for combo in keys.iter().flat_map(|binding| binding.keys.iter()) {
                let mut app = app();
                app.model.groups = (0..3)
                    .map(|i| GroupSummary {
                        name: format!("g{i}"),
                        unread: 0,
                    })
                    .collect();
                press(&mut app, KeyCode::Char('j'));
                if layer.name() != "Main" {
                    app.overlays.push(layer.clone());
                }
                let before = app.clone();
                let commands = update(
                    &mut app,
                    UiEvent::Key(KeyEvent::new(combo.code, combo.modifiers)),
                );
                let changed = app != before || !commands.is_empty();
                assert!(changed, "{} on {} did nothing", combo.label(), layer.name());
            }
        }
    }

    #[test]
    fn no_screen_binds_a_key_twice_or_a_typing_key_beside_a_text_field() {
        for layer in Layer::every_layer() {
            let mut seen = Vec::new();
            let typing = layer.text_field().is_some();
            for combo in layer.keys().iter().flat_map(|binding| binding.keys.clone()) {
                assert!(
                    !seen.contains(&combo),
                    "{combo:?} twice on {}",
                    layer.name()
                );
                assert!(
                    !(typing && combo.is_text()),
                    "{combo:?} on {}",
                    layer.name()
                );
                seen.push(combo);
            }
        }
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut app = app();
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert!(update(&mut app, UiEvent::Key(release)).is_empty());
    }

    #[test]
    fn resize_updates_the_model() {
        let mut app = app();
        update(&mut app, UiEvent::Resize(41, 13));
        assert_eq!(app.model.size, (41, 13));
    }

    #[test]
    fn node_events_give_the_status_the_addresses_and_the_peers() {
        let mut app = app();
        assert_eq!(app.model.network.status(), NetworkStatus::Offline);
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        update(&mut app, UiEvent::Node(NodeEvent::ListenAddrs(vec![addr])));
        assert_eq!(
            app.model.network.status(),
            NetworkStatus::Listening { peers: 0 }
        );
        assert_eq!(app.model.network.listen_addrs, ["/ip4/127.0.0.1/tcp/4001"]);
        let peers = vec![PeerId::random(), PeerId::random()];
        update(&mut app, UiEvent::Node(NodeEvent::Peers(peers.clone())));
        assert_eq!(
            app.model.network.status(),
            NetworkStatus::Listening { peers: 2 }
        );
        assert_eq!(app.model.network.peers[1], peers[1].to_string());
        update(&mut app, UiEvent::Node(NodeEvent::Peers(Vec::new())));
        assert_eq!(app.model.network.status().to_string(), "online · 0 peers");
    }

    #[test]
    fn addresses_from_the_network_are_sanitized() {
        let mut app = app();
        let addr: Multiaddr = "/dns/evil\u{1b}[2J\u{202e}.example/tcp/1".parse().unwrap();
        update(&mut app, UiEvent::Node(NodeEvent::ListenAddrs(vec![addr])));
        let shown = &app.model.network.listen_addrs[0];
        assert!(
            shown.chars().all(crate::ui::text::is_printable),
            "{shown:?}"
        );
        assert!(
            shown.contains("evil\u{FFFD}[2J\u{FFFD}.example"),
            "{shown:?}"
        );
    }
}
