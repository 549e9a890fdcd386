//! Protocols as choreographies, and the guard chain every send passes.
//!
//! - [`session`] — session-typed endpoints (`Send`, `Recv`, `Choose`, `Offer`, `Rec`, `End`);
//!   a run ends only through `End`, which yields the [`Closed`](session::Closed) token.
//! - [`choreography`] — the `choreography!` macro: roles, messages and their annotations
//!   (guard capability, flow cost, journal facts), projected to each role's session type.
//! - [`annotation`] — the annotation table the runtime reads, and how payloads are encoded.
//! - [`transport`] — what an endpoint needs from the network; an in-memory pair for tests.
//! - [`guard`] — the guard chain as pure functions (`GuardChain::evaluate`) returning effects
//!   as data, and `GuardState::apply`, the only place they are performed.
//! - [`guarded`] — a transport that runs the guard chain before handing a message over.
//! - [`wire`] — the framing of a session over a byte stream (a libp2p stream in the node).
//! - [`request_response`], [`anti_entropy`], [`relationship`] — the protocols written with
//!   the macro.

pub mod annotation;
pub mod anti_entropy;
pub mod choreography;
pub mod guard;
pub mod guarded;
pub mod relationship;
pub mod request_response;
pub mod session;
pub mod transport;
pub mod wire;
