//! The terminal user interface: a view model (`app`), a pure `update`, a pure `render`, one
//! keymap table that feeds both help and hints, and a thin async shell (`event_loop`) that owns
//! the terminal (`terminal`).

pub mod app;
pub mod event_loop;
pub mod keymap;
pub mod render;
pub mod terminal;
pub mod text;
pub mod text_field;
pub mod update;

pub use app::{App, GroupSummary, IdentitySummary};
pub use render::render;
pub use update::{Command, UiEvent, update};
