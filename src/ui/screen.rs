//! What every screen and overlay is: a table of key bindings, a way to perform their actions
//! on the view model, a way to draw itself, and possibly a text field with focus. `Layer`
//! names them all; a new screen is a new file under `screens/` and one line in `layers!`.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::app::Model;
use super::keymap::{Binding, KeyHelp, describe, lookup};
use super::screens::{
    AddPeerPrompt, ConfirmRemove, ContactsScreen, CreateInvitationForm, HelpScreen,
    InvitationsScreen, MainScreen, NetworkScreen, Prompt, WelcomeScreen,
};
use super::text_field::TextField;
use super::update::Command;

/// A screen or an overlay. Its keys are its own: the table `BINDINGS` is where its keys are
/// looked up, and what help and the hint bar show while it has focus. `Default` is the screen
/// as just opened; tests that go over every layer start from it.
pub trait Screen: Default {
    type Action: Copy + 'static;

    const BINDINGS: &'static [Binding<Self::Action>];

    /// Does what `action` asks. Pure: it may change this screen and the model, and say what
    /// else should happen.
    fn perform(&mut self, action: Self::Action, model: &mut Model) -> Vec<Effect>;

    /// Draws the screen in `area` (the whole screen but the status bar). `focused` is false
    /// when an overlay is open over it.
    fn render(&self, model: &Model, frame: &mut Frame, area: Rect, focused: bool);

    /// The text field that has focus, if any. While one does, keys that type a character go
    /// to it and the screen's bindings of such keys are not in force.
    fn text_field(&self) -> Option<&TextField> {
        None
    }

    fn text_field_mut(&mut self) -> Option<&mut TextField> {
        None
    }
}

/// What performing an action asks for besides changing the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Close the focused overlay.
    Close,
    /// Open an overlay over the focused screen.
    Open(Layer),
    /// Ask the shell to do something.
    Command(Command),
}

macro_rules! layers {
    ($($(#[$doc:meta])* $variant:ident($screen:ty),)*) => {
        /// One of the screens or overlays the app can show.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Layer {
            $($(#[$doc])* $variant($screen),)*
        }

        impl Layer {
            /// Which kind of layer this is, for tests and logs.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => stringify!($variant),)*
                }
            }

            /// The layer's bindings in force now.
            pub fn keys(&self) -> Vec<KeyHelp> {
                let text_mode = self.text_field().is_some();
                match self {
                    $(Self::$variant(_) => describe(<$screen as Screen>::BINDINGS, text_mode),)*
                }
            }

            /// Performs the action `key` is bound to in this layer; `None` if it is bound to
            /// none here.
            pub fn on_key(&mut self, key: &KeyEvent, model: &mut Model) -> Option<Vec<Effect>> {
                let text_mode = self.text_field().is_some();
                match self {
                    $(Self::$variant(screen) => {
                        lookup(<$screen as Screen>::BINDINGS, key, text_mode)
                            .map(|action| screen.perform(action, model))
                    })*
                }
            }

            pub fn render(&self, model: &Model, frame: &mut Frame, area: Rect, focused: bool) {
                match self {
                    $(Self::$variant(screen) => screen.render(model, frame, area, focused),)*
                }
            }

            pub fn text_field(&self) -> Option<&TextField> {
                match self {
                    $(Self::$variant(screen) => screen.text_field(),)*
                }
            }

            pub fn text_field_mut(&mut self) -> Option<&mut TextField> {
                match self {
                    $(Self::$variant(screen) => screen.text_field_mut(),)*
                }
            }

            /// One layer of each kind, as it is when just opened, for tests over all of them.
            #[cfg(test)]
            pub(crate) fn every_layer() -> Vec<Layer> {
                vec![$(Layer::$variant(<$screen as Default>::default()),)*]
            }
        }

        $(impl From<$screen> for Layer {
            fn from(screen: $screen) -> Self {
                Self::$variant(screen)
            }
        })*

    };
}

layers! {
    /// Groups and the conversation: the screen under everything.
    Main(MainScreen),
    /// Listen addresses, connected peers, adding a peer.
    Network(NetworkScreen),
    /// The keys of the screen it was opened over.
    Help(HelpScreen),
    /// The address prompt the network screen opens.
    AddPeer(AddPeerPrompt),
    /// The invitations made and accepted, a fresh code, an acceptance under way.
    Invitations(InvitationsScreen),
    /// Expiry, uses, note and approval of a new invitation.
    CreateInvitation(CreateInvitationForm),
    /// One line of text: the display name, a code to accept, a nickname.
    Prompt(Prompt),
    /// How to start, after the first run's name.
    Welcome(WelcomeScreen),
    /// Contacts: names, nicknames, online; renaming and removing.
    Contacts(ContactsScreen),
    /// Whether to remove a contact.
    ConfirmRemove(ConfirmRemove),
}
