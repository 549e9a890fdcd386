//! Display names and nicknames: what a user may call themselves, what is kept of a name a
//! peer sent, and how peers are labelled when two names collide.

use crate::state::fact::DeviceKey;
use crate::ui::text::is_printable;

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 48;
/// Longest name, in bytes of UTF-8: the cap a fact body checks.
pub const MAX_NAME_BYTES: usize = 4 * MAX_NAME_CHARS;

/// Why a name the user typed was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error("a name has at most {MAX_NAME_CHARS} characters; this one has {0}")]
    TooLong(usize),
    #[error("a name cannot contain control characters (found {0:?})")]
    ControlCharacter(char),
}

/// Checks a name the user typed: trimmed, not empty, no control or bidi characters, within
/// the cap. The user hears why rather than seeing their name changed.
pub fn check_own_name(name: &str) -> Result<String, NameError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(bad) = name.chars().find(|c| !is_printable(*c)) {
        return Err(NameError::ControlCharacter(bad));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong(chars));
    }
    Ok(name.to_owned())
}

/// What is kept of a name a peer sent: control and bidi characters stripped, whitespace runs
/// made one space, cut at the cap. Whatever arrives, the result is safe to show.
pub fn sanitize_peer_name(name: &str) -> String {
    let mut clean = String::new();
    let mut pending_space = false;
    for c in name.chars() {
        // Newlines and tabs are whitespace first: they part words rather than join them.
        if c.is_whitespace() {
            pending_space = !clean.is_empty();
            continue;
        }
        if !is_printable(c) {
            continue;
        }
        if pending_space {
            clean.push(' ');
            pending_space = false;
        }
        clean.push(c);
    }
    clean.chars().take(MAX_NAME_CHARS).collect()
}

/// A peer id short enough to tell two peers with the same name apart.
pub fn short_peer(device: &DeviceKey) -> String {
    crate::net::peer_of_device(device)
        .map(|peer| {
            let text = peer.to_string();
            let tail: String = text.chars().rev().take(6).collect();
            tail.chars().rev().collect()
        })
        .unwrap_or_else(|| device.0[..3].iter().map(|b| format!("{b:02x}")).collect())
}

/// Labels for peers: the name shown, with a short peer id added where two peers would
/// otherwise read the same (names compared without regard to case). A peer without a name
/// is its short peer id.
pub fn labels<'a>(
    peers: impl IntoIterator<Item = (DeviceKey, &'a str)>,
) -> Vec<(DeviceKey, String)> {
    let peers: Vec<(DeviceKey, &str)> = peers.into_iter().collect();
    peers
        .iter()
        .map(|(device, name)| {
            let folded = name.to_lowercase();
            let collides = peers
                .iter()
                .any(|(other, other_name)| other != device && other_name.to_lowercase() == folded);
            let label = if name.is_empty() {
                short_peer(device)
            } else if collides {
                format!("{name} ({})", short_peer(device))
            } else {
                (*name).to_owned()
            };
            (*device, label)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_own_name_is_trimmed_and_checked() {
        assert_eq!(check_own_name("  Alice "), Ok("Alice".to_owned()));
        assert_eq!(check_own_name("   "), Err(NameError::Empty));
        assert_eq!(
            check_own_name("a\u{7}b"),
            Err(NameError::ControlCharacter('\u{7}'))
        );
        assert_eq!(
            check_own_name("a\u{202E}b"),
            Err(NameError::ControlCharacter('\u{202E}'))
        );
        let long = "é".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            check_own_name(&long),
            Err(NameError::TooLong(MAX_NAME_CHARS + 1))
        );
        assert!(check_own_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn a_peer_name_is_stripped_and_capped() {
        assert_eq!(
            sanitize_peer_name("\u{1b}[31mEve\u{202E}  the\n\tgreat "),
            "[31mEve the great"
        );
        assert_eq!(
            sanitize_peer_name(&"x".repeat(1000)).chars().count(),
            MAX_NAME_CHARS
        );
        assert_eq!(sanitize_peer_name("\u{0}\u{1}"), "");
    }

    #[test]
    fn colliding_names_get_a_short_peer_id() {
        let a = DeviceKey([1; 32]);
        let b = DeviceKey([2; 32]);
        let c = DeviceKey([3; 32]);
        let labels = labels([(a, "Sam"), (b, "sam"), (c, "Kim")]);
        assert!(labels[0].1.starts_with("Sam ("));
        assert!(labels[1].1.starts_with("sam ("));
        assert_ne!(labels[0].1[5..], labels[1].1[5..]);
        assert_eq!(labels[2].1, "Kim");
    }
}
