//! The async shell around the pure UI: it waits for terminal input, a tick, node events, the
//! answers of commands it started and termination signals, feeds them to `update`, redraws,
//! and performs the commands `update` returns. A command that talks to the node runs in a
//! task of its own, so the loop never waits on the network.

use std::io;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{broadcast, mpsc};

use super::app::App;
use super::render::render;
use super::terminal::TuiTerminal;
use super::update::{Command, UiEvent, update};
use crate::node::{NodeClient, NodeEvent};

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
    loop {
        terminal.draw(|frame| render(app, frame))?;
        let event = tokio::select! {
            input = terminal_events.next() => match input {
                Some(Ok(Event::Key(key))) => UiEvent::Key(key),
                Some(Ok(Event::Resize(width, height))) => UiEvent::Resize(width, height),
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(err),
                None => return Ok(()),
            },
            _ = ticker.tick() => UiEvent::Tick,
            Some(answer) = answers.recv() => answer,
            received = node_events.recv(), if node_open => match received {
                Ok(event) => UiEvent::Node(event),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Events were missed: ask for the whole state instead of showing a stale one.
                    refresh(&node, &answer_tx);
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
            match command {
                Command::Quit => return Ok(()),
                Command::AddPeer(addr) => {
                    let node = node.clone();
                    let answer_tx = answer_tx.clone();
                    tokio::spawn(async move {
                        let result = node.add_peer(addr.clone()).await;
                        let result = result.map_err(|err| err.to_string());
                        // The UI may have quit meanwhile; then nobody needs the answer.
                        let _ = answer_tx.send(UiEvent::PeerAdded { addr, result });
                    });
                }
            }
        }
    }
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
