//! The gossip topic of a context.

use libp2p::gossipsub;

use crate::state::fact::ContextId;

/// The topic name prefix of a context; a hash of the context id follows in hex.
const TOPIC_PREFIX: &str = "aura/context/";
/// What the hash of a topic name starts with, so that it is used for nothing else.
const TOPIC_DOMAIN: &[u8] = b"aura/topic/v1\0";

/// The gossip topic of a context. Gossipsub announces every topic a node subscribes to to
/// every peer it connects to, so the name carries a one-way hash of the context id: a peer
/// that does not know the id learns nothing it could use to read, join or sync the context.
pub fn topic(context: ContextId) -> gossipsub::IdentTopic {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(TOPIC_DOMAIN)
        .chain_update(context.0)
        .finalize();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    gossipsub::IdentTopic::new(format!("{TOPIC_PREFIX}{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_does_not_reveal_its_context() {
        let context = ContextId([0xA5; 32]);
        let name = topic(context).hash().into_string();
        let hex: String = context.0.iter().map(|byte| format!("{byte:02x}")).collect();
        assert!(name.starts_with(TOPIC_PREFIX));
        assert!(!name.contains(&hex));
        assert_eq!(topic(context).hash(), topic(ContextId([0xA5; 32])).hash());
        assert_ne!(topic(context).hash(), topic(ContextId([0xA6; 32])).hash());
    }
}
