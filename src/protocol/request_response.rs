//! The request/response choreography of the coordination guide, and its two roles.

use super::session::{Chan, Closed};
use super::transport::{SessionError, Transport};

crate::choreography! {
    /// A client asks once and the server answers once.
    protocol RequestResponse {
        roles: Client, Server;
        Client[guard_capability = "send_request", flow_cost = 50]
            -> Server: SendRequest(Vec<u8>);
        Server[guard_capability = "send_response", flow_cost = 30, journal_facts = "response_sent"]
            -> Client: SendResponse(Vec<u8>);
    }
}

/// Sends `request` and returns the server's answer.
pub async fn client<T: Transport>(
    chan: Chan<T, session::Client>,
    request: Vec<u8>,
) -> Result<(Vec<u8>, Closed, T), SessionError> {
    let chan = chan.send(SendRequest(request)).await?;
    let (SendResponse(response), chan) = chan.recv().await?;
    let (closed, transport) = chan.close();
    Ok((response, closed, transport))
}

/// Answers one request with `handler`.
pub async fn server<T: Transport>(
    chan: Chan<T, session::Server>,
    handler: impl FnOnce(Vec<u8>) -> Vec<u8>,
) -> Result<(Closed, T), SessionError> {
    let (SendRequest(request), chan) = chan.recv().await?;
    let chan = chan.send(SendResponse(handler(request))).await?;
    Ok(chan.close())
}
