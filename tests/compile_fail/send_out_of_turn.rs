// The server must receive the request first; sending its response straight away is refused.
use aura::protocol::request_response::{SendResponse, session};
use aura::protocol::session::{Chan, Closed};
use aura::protocol::transport::MemoryTransport;

async fn server(chan: Chan<MemoryTransport, session::Server>) -> Closed {
    let chan = chan.send(SendResponse(Vec::new())).await.unwrap();
    chan.close().0
}

fn main() {}
