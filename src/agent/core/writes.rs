//! This device's writes, in batches: each fact is signed and its publish charged to the guard
//! chain (one flow charge per subscribed peer, leakage once) before it is stored; the admitted
//! facts of a batch are stored in one transaction and only then gossiped. A write the guard
//! refuses is neither stored nor sent, and its writer is told why.

use std::collections::HashMap;

use super::{BatchId, Core, Effect, Millis, Reply, RequestId};
use crate::node::NodeError;
use crate::state::fact::{ContextId, DeviceKey, Fact, FactId, FactKind};

/// A fact this device asks to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    pub request: RequestId,
    pub context: ContextId,
    pub kind: FactKind,
    pub body: Vec<u8>,
}

/// A signed and charged fact waiting for its store transaction.
#[derive(Debug)]
struct Signed {
    request: RequestId,
    context: ContextId,
    id: FactId,
    bytes: Vec<u8>,
}

/// Write batches the shell is storing.
#[derive(Debug, Default)]
pub struct PendingWrites {
    batches: HashMap<BatchId, Vec<Signed>>,
}

impl Core {
    pub(super) fn write_batch(&mut self, writes: Vec<WriteRequest>, now: Millis) {
        let mut signed = Vec::with_capacity(writes.len());
        let mut facts = Vec::with_capacity(writes.len());
        for write in writes {
            let request = write.request;
            match self.sign_and_charge(write, now) {
                Ok((fact, bytes)) => {
                    signed.push(Signed {
                        request,
                        context: fact.context(),
                        id: fact.id(),
                        bytes,
                    });
                    facts.push(fact);
                }
                Err(err) => {
                    tracing::info!(%err, "a write was not sent");
                    self.effects.push_back(Effect::Reply {
                        request,
                        reply: Reply::Written(Err(err)),
                    });
                }
            }
        }
        if facts.is_empty() {
            return;
        }
        let batch = self.next_batch();
        self.writes.batches.insert(batch, signed);
        self.effects.push_back(Effect::StoreWrites { batch, facts });
    }

    fn sign_and_charge(
        &mut self,
        write: WriteRequest,
        now: Millis,
    ) -> Result<(Fact, Vec<u8>), NodeError> {
        let time = self
            .clock
            .now(now)
            .map_err(|err| NodeError::Clock(err.to_string()))?;
        let fact = Fact::sign(
            &self.signing_key,
            write.context,
            time,
            write.kind,
            write.body,
        )
        .map_err(|err| NodeError::Fact(err.to_string()))?;
        self.join(write.context, None);
        let bytes = fact.encode();
        let subscribers: Vec<DeviceKey> = self
            .peers
            .subscribers_of(write.context)
            .iter()
            .filter_map(|peer| self.peers.device(peer))
            .collect();
        self.guard
            .authorize_publish(write.context, self.device, &subscribers, bytes.len())?;
        Ok((fact, bytes))
    }

    /// The store took (or refused) a batch: stored facts are gossiped and their writers told.
    pub(super) fn writes_stored(&mut self, batch: BatchId, result: Result<(), String>) {
        let Some(signed) = self.writes.batches.remove(&batch) else {
            return;
        };
        if let Err(message) = result {
            for write in signed {
                self.effects.push_back(Effect::Reply {
                    request: write.request,
                    reply: Reply::Written(Err(NodeError::Fact(message.clone()))),
                });
            }
            return;
        }
        let mut stored: HashMap<ContextId, Vec<FactId>> = HashMap::new();
        for write in signed {
            self.effects.push_back(Effect::Publish {
                context: write.context,
                bytes: write.bytes,
            });
            stored.entry(write.context).or_default().push(write.id);
            self.effects.push_back(Effect::Reply {
                request: write.request,
                reply: Reply::Written(Ok(write.id)),
            });
        }
        self.announce(stored);
    }
}
