//! The async shell around the pure UI: it waits for terminal input, a tick, agent events and
//! termination signals, feeds them to `update`, redraws, and performs the commands.

use std::io;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::app::App;
use super::render::render;
use super::terminal::TuiTerminal;
use super::update::{Command, UiEvent, update};

/// Runs the UI until the user quits, the terminal closes or the process is asked to stop.
pub async fn run(
    terminal: &mut TuiTerminal,
    app: &mut App,
    mut agent_events: mpsc::Receiver<UiEvent>,
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
            received = agent_events.recv(), if agent_open => match received {
                Some(event) => event,
                None => {
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
