// A client that sends its request and stops, dropping the endpoint before End, has no
// `Closed` to return.
use aura::protocol::request_response::{SendRequest, session};
use aura::protocol::session::{Chan, Closed};
use aura::protocol::transport::MemoryTransport;

async fn client(chan: Chan<MemoryTransport, session::Client>) -> Closed {
    let _chan = chan.send(SendRequest(Vec::new())).await.unwrap();
}

fn main() {}
