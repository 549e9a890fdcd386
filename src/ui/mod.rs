//! The terminal user interface, in the shape of gitui: a screen with a stack of overlays over
//! it, each a [`Screen`] with its own key table, actions and drawing.
//!
//! - `app` — the view model: [`Model`] (what every screen may read) and [`App`] (the model, the
//!   screen and the overlays).
//! - `screen` — the [`Screen`] trait, [`Layer`] (every screen and overlay) and [`Effect`].
//! - `screens` — one file per screen or overlay: the main screen, network, help, the address
//!   prompt, invitations, contacts, the first-run welcome and their prompts.
//! - `relations` — names, invitations and contacts as the node reported them, sanitized.
//! - `keymap` — keys, binding tables, the global table, and what is in force over a screen
//!   (the one source of help and hints).
//! - `update` — `update(&mut App, UiEvent) -> Vec<Command>`: pure.
//! - `render` — `render(&App, &mut Frame)`: pure.
//! - `text_field` — a one-line text field with readline editing; while one has focus,
//!   printable keys are text.
//! - `text` — `sanitize` for text from peers, widths, cutting and wrapping.
//! - `event_loop` — the async shell: terminal, node events, signals; performs commands.
//! - `terminal` — raw mode and the alternate screen, restored on every way out.

pub mod app;
pub mod event_loop;
pub mod keymap;
pub mod relations;
pub mod render;
pub mod screen;
pub mod screens;
pub mod terminal;
pub mod text;
pub mod text_field;
pub mod update;

pub use app::{App, GroupSummary, IdentitySummary, Model};
pub use render::render;
pub use screen::{Effect, Layer, Screen};
pub use update::{Command, UiEvent, update};
