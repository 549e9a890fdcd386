//! The async shell around the pure UI: it waits for terminal input, a tick, node events, the
//! answers of commands it started and termination signals, feeds them to `update`, redraws,
//! and performs the commands `update` returns. A command that talks to the node runs in a
//! task of its own, so the loop never waits on the network.

use std::future::Future;
use std::io::{self, Write};
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use data_encoding::BASE64;
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{broadcast, mpsc};

use super::app::App;
use super::render::render;
use super::terminal::TuiTerminal;
use super::update::{Command, UiEvent, update};
use crate::agent::core::InviteAnswer;
use crate::node::{InviteRequest, NodeClient, NodeEvent, TrustQuery};
use crate::trust::views::TrustAnswer;

type Answers = mpsc::UnboundedSender<UiEvent>;

/// Runs the UI until the user quits, the terminal closes or the process is asked to stop.
pub async fn run(
    terminal: &mut TuiTerminal,
    app: &mut App,
    node: NodeClient,
    mut node_events: broadcast::Receiver<NodeEvent>,
    tick: Duration,
) -> io::Result<()> {
    let mut terminal_events = EventStream::new();
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut node_open = true;
    // The loop holds a sender itself, so `answers.recv()` never ends.
    let (answer_tx, mut answers) = mpsc::unbounded_channel::<UiEvent>();

    let size = terminal.size()?;
    app.model.size = (size.width, size.height);
    app.model.now_ms = now_ms();
    // Whether this is a first run (no name yet) and what the lists hold, before any event.
    let profile = node.clone();
    answer(&answer_tx, async move {
        UiEvent::ProfileName(profile.profile_name().await.unwrap_or_default())
    });
    for command in [
        Command::RefreshInvitations,
        Command::RefreshContacts,
        Command::RefreshTrust,
    ] {
        perform(terminal, &node, &answer_tx, command)?;
    }
    loop {
        terminal.draw(|frame| render(app, frame))?;
        let event = tokio::select! {
                input = terminal_events.next() => match input {
                    Some(Ok(Event::Key(key))) => UiEvent::Key(key),
                    Some(Ok(Event::Resize(width, height))) => UiEvent::Resize(width, height),
                    Some(Ok(Event::Paste(text))) => UiEvent::Paste(text),
                    Some(Ok(_)) => continue,
                    Some(Err(err)) => return Err(err),
                    None => return Ok(()),
                },
                _ = ticker.tick() => UiEvent::Clock(now_ms()),
                Some(answer) = answers.recv() => answer,
                received = node_events.recv(), if node_open => match received {
                    Ok(event) => UiEvent::Node(event),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Events were missed: ask for the whole state instead of showing a stale one.
                        refresh(&node, &answer_tx);
                        for command in [
            Command::RefreshInvitations,
            Command::RefreshContacts,
            Command::RefreshTrust,
        ] {
                            perform(terminal, &node, &answer_tx, command)?;
                        }
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        node_open = false;
                        continue;
                    }
                },
                _ = terminate.recv() => return Ok(()),
                _ = hangup.recv() => return Ok(()),
            };
        for command in update(app, event) {
            if command == Command::Quit {
                return Ok(());
            }
            perform(terminal, &node, &answer_tx, command)?;
        }
    }
}

// The UI's shell reads the wall clock for "next try in N s"; drawing may not.
#[allow(clippy::disallowed_methods)]
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Runs `ask` in a task of its own and feeds its answer to the UI. The UI may have quit
/// meanwhile; then nobody needs the answer.
fn answer(answer_tx: &Answers, ask: impl Future<Output = UiEvent> + Send + 'static) {
    let answer_tx = answer_tx.clone();
    tokio::spawn(async move {
        let _ = answer_tx.send(ask.await);
    });
}

/// Does what `command` asks: through the node, in a task, unless it is the terminal's own.
fn perform(
    terminal: &mut TuiTerminal,
    node: &NodeClient,
    answer_tx: &Answers,
    command: Command,
) -> io::Result<()> {
    let node = node.clone();
    match command {
        Command::Quit => {}
        Command::AddPeer(addr) => answer(answer_tx, async move {
            let result = node.add_peer(addr.clone()).await;
            let result = result.map_err(|err| err.to_string());
            UiEvent::PeerAdded { addr, result }
        }),
        Command::RefreshInvitations => answer(answer_tx, async move {
            UiEvent::Invitations(node.invitations().await.map_err(|err| err.to_string()))
        }),
        Command::RefreshContacts => answer(answer_tx, async move {
            UiEvent::Contacts(node.contacts().await.map_err(|err| err.to_string()))
        }),
        Command::RefreshTrust => answer(answer_tx, async move {
            UiEvent::Trust(match node.trust(TrustQuery::List).await {
                Ok(TrustAnswer::List(entries)) => Ok(entries),
                Ok(_) => Err("the node gave an unexpected answer".to_owned()),
                Err(err) => Err(err.to_string()),
            })
        }),
        Command::ExplainTrust(peer_id) => answer(answer_tx, async move {
            let result = match node.trust(TrustQuery::Path(peer_id.clone())).await {
                Ok(TrustAnswer::Paths(paths)) => Ok(paths),
                Ok(_) => Err("the node gave an unexpected answer".to_owned()),
                Err(err) => Err(err.to_string()),
            };
            UiEvent::TrustPaths { peer_id, result }
        }),
        Command::CreateInvitation(options) => answer(answer_tx, async move {
            let result = node.invite(InviteRequest::Create(options)).await;
            UiEvent::InvitationCreated(match result {
                Ok(InviteAnswer::Created(created)) => Ok(created),
                Ok(other) => Err(unexpected(&other)),
                Err(err) => Err(err.to_string()),
            })
        }),
        Command::AcceptInvitation(code) => answer(answer_tx, async move {
            let result = node.invite(InviteRequest::Accept(code)).await;
            UiEvent::AcceptanceStarted(match result {
                Ok(InviteAnswer::Acceptance(view)) => Ok(view),
                Ok(other) => Err(unexpected(&other)),
                Err(err) => Err(err.to_string()),
            })
        }),
        Command::Invite(request) => answer(answer_tx, async move {
            let result = match node.invite(request.clone()).await {
                Ok(InviteAnswer::Done(done)) => Ok(done),
                Ok(other) => Err(unexpected(&other)),
                Err(err) => Err(err.to_string()),
            };
            UiEvent::InviteAnswered { request, result }
        }),
        Command::CopyToClipboard(text) => copy_to_clipboard(terminal, &text)?,
    }
    Ok(())
}

fn unexpected(answer: &InviteAnswer) -> String {
    tracing::warn!(?answer, "the node answered another request's way");
    "the node gave an unexpected answer".to_owned()
}

/// Asks the terminal to put `text` on the clipboard (OSC 52). Terminals that do not allow it
/// ignore the sequence; it is written between frames, so it never lands inside one.
fn copy_to_clipboard(terminal: &mut TuiTerminal, text: &str) -> io::Result<()> {
    let writer = terminal.backend_mut();
    writer.write_all(osc52(text).as_bytes())?;
    writer.flush()
}

/// The OSC 52 sequence that sets the clipboard ("c") to `text`.
fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", BASE64.encode(text.as_bytes()))
}

/// Asks the node for its current network state and feeds it to the UI as the events that
/// carry it.
fn refresh(node: &NodeClient, answer_tx: &mpsc::UnboundedSender<UiEvent>) {
    let node = node.clone();
    let answer_tx = answer_tx.clone();
    tokio::spawn(async move {
        match node.status().await {
            Ok(status) => {
                let net = status.net;
                let _ = answer_tx.send(UiEvent::Node(NodeEvent::ListenAddrs(net.listen_addrs)));
                let _ = answer_tx.send(UiEvent::Node(NodeEvent::Peers(net.connected)));
            }
            Err(err) => tracing::debug!(%err, "cannot refresh the network view"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clipboard_sequence_carries_the_text_in_base64_and_ends_with_bel() {
        assert_eq!(osc52("aura1qq"), "\x1b]52;c;YXVyYTFxcQ==\x07");
    }
}
