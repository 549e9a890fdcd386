//! The async shell around the pure UI: it waits for terminal input, a tick, agent events and
//! termination signals, feeds them to `update`, redraws, and performs the commands.

use std::io;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast;

use super::app::App;
use super::render::render;
use super::terminal::TuiTerminal;
use super::update::{Command, UiEvent, update};
use crate::net::NetworkStatus;
use crate::node::{NodeClient, NodeEvent};

/// Runs the UI until the user quits, the terminal closes or the process is asked to stop.
pub async fn run(
    terminal: &mut TuiTerminal,
    app: &mut App,
    _node: NodeClient,
    mut node_events: broadcast::Receiver<NodeEvent>,
    tick: Duration,
) -> io::Result<()> {
    let mut terminal_events = EventStream::new();
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut agent_open = true;

    let size = terminal.size()?;
    app.size = (size.width, size.height);
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
            received = node_events.recv(), if agent_open => match received {
                Ok(event) => {
                    for event in ui_events(app, event) {
                        update(app, event);
                    }
                    continue;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => {
                    agent_open = false;
                    continue;
                }
            },
            _ = terminate.recv() => return Ok(()),
            _ = hangup.recv() => return Ok(()),
        };
        if update(app, event).contains(&Command::Quit) {
            return Ok(());
        }
    }
}

/// What a node event changes on screen.
fn ui_events(app: &App, event: NodeEvent) -> Vec<UiEvent> {
    match event {
        NodeEvent::ListenAddrs(addrs) => vec![
            UiEvent::ListenAddrs(addrs.iter().map(ToString::to_string).collect()),
            UiEvent::Network(NetworkStatus::Listening {
                peers: app.peers.len(),
            }),
        ],
        NodeEvent::Peers(peers) => vec![
            UiEvent::Network(NetworkStatus::Listening { peers: peers.len() }),
            UiEvent::Peers(peers.iter().map(ToString::to_string).collect()),
        ],
        NodeEvent::FactsStored { .. } => Vec::new(),
    }
}
