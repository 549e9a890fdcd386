//! Relationship formation as a choreography: the invitee names the invitation, the inviter
//! answers with its fresh values (or a refusal), the invitee proves the invitation key, and
//! the inviter gives its verdict. The protocol is linear, so that both roles are one session
//! type: after a refusal the invitee withdraws and the verdict repeats the refusal.
//!
//! The roles here only move messages; what to answer is decided by the caller (the agent's
//! core, through the session task), which knows the invitations and holds the keys.

use super::session::{Chan, Closed};
use super::transport::{SessionError, Transport};
use crate::invite::messages::{Ask, Challenge, Proof, Verdict};

crate::choreography! {
    /// An invitee redeems an invitation with its inviter.
    protocol RelationshipFormation {
        roles: Invitee, Inviter;
        Invitee[guard_capability = "invite", flow_cost = 1] -> Inviter: Asking(Ask);
        Inviter[guard_capability = "invite", flow_cost = 1] -> Invitee: Challenging(Challenge);
        Invitee[guard_capability = "invite", flow_cost = 1] -> Inviter: Proving(Proof);
        Inviter[guard_capability = "invite", flow_cost = 1, journal_facts = "relationship"]
            -> Invitee: Deciding(Verdict);
    }
}

/// How the invitee's run ended: the inviter's challenge, and its verdict.
#[derive(Debug)]
pub struct InviteeRun {
    pub challenge: Challenge,
    pub verdict: Verdict,
}

/// Runs the invitee: `prove` turns the inviter's challenge into the proof to send.
pub async fn invitee<T: Transport>(
    chan: Chan<T, session::Invitee>,
    ask: Ask,
    prove: impl AsyncFnOnce(&Challenge) -> Proof,
) -> Result<(InviteeRun, Closed, T), SessionError> {
    let chan = chan.send(Asking(ask)).await?;
    let (Challenging(challenge), chan) = chan.recv().await?;
    let proof = prove(&challenge).await;
    let chan = chan.send(Proving(proof)).await?;
    let (Deciding(verdict), chan) = chan.recv().await?;
    let (closed, transport) = chan.close();
    Ok((InviteeRun { challenge, verdict }, closed, transport))
}

/// Runs the inviter: `challenge` answers the invitee's ask, `decide` its proof.
pub async fn inviter<T: Transport>(
    chan: Chan<T, session::Inviter>,
    challenge: impl AsyncFnOnce(Ask) -> Challenge,
    decide: impl AsyncFnOnce(Proof) -> Verdict,
) -> Result<(Verdict, Closed, T), SessionError> {
    let (Asking(ask), chan) = chan.recv().await?;
    let chan = chan.send(Challenging(challenge(ask).await)).await?;
    let (Proving(proof), chan) = chan.recv().await?;
    let verdict = decide(proof).await;
    let chan = chan.send(Deciding(verdict.clone())).await?;
    let (closed, transport) = chan.close();
    Ok((verdict, closed, transport))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invite::facts::InvitationKey;
    use crate::invite::messages::{Proceed, Refusal};
    use crate::protocol::transport::MemoryTransport;

    fn ask() -> Ask {
        Ask {
            invitation: InvitationKey([1; 32]),
            ephemeral: [2; 32],
            nonce: [3; 32],
            name: "Bob".to_owned(),
        }
    }

    #[tokio::test]
    async fn both_roles_run_to_the_verdict() {
        let (a, b) = MemoryTransport::pair();
        let proceed = Proceed {
            ephemeral: [4; 32],
            nonce: [5; 32],
            name: "Alice".to_owned(),
        };
        let expected = proceed.clone();
        let invitee = tokio::spawn(async move {
            invitee(Chan::new(a), ask(), async |challenge: &Challenge| {
                assert!(matches!(challenge, Challenge::Proceed(_)));
                Proof::Withdrawn
            })
            .await
        });
        let (verdict, _, _) = inviter(
            Chan::new(b),
            async |asked: Ask| {
                assert_eq!(asked, ask());
                Challenge::Proceed(expected)
            },
            async |proof: Proof| {
                assert_eq!(proof, Proof::Withdrawn);
                Verdict::Refused(Refusal::Declined)
            },
        )
        .await
        .unwrap();
        assert_eq!(verdict, Verdict::Refused(Refusal::Declined));
        let (run, _, _) = invitee.await.unwrap().unwrap();
        assert_eq!(run.challenge, Challenge::Proceed(proceed));
        assert_eq!(run.verdict, Verdict::Refused(Refusal::Declined));
    }
}
