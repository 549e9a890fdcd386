//! After a member is removed, every key it ever held opens nothing sent afterwards. B keeps
//! a copy of its MLS state at every epoch it saw (tree, leaf and path secrets, secret tree,
//! exporter), and its KeyPackage's private keys; after A removes B, A and C write and commit
//! more. With all of that, B cannot open a message sent after its removal, cannot apply the
//! commit that removed it, and cannot open any later commit.

use getrandom::SysRng;
use rand_core::UnwrapErr;

use aura::crypto::group::{Group, KeyPackageSecrets, generate_key_package};
use aura::crypto::key_package::KeyPackage;
use aura::crypto::keys::SignaturePrivateKey;
use aura::groups::convergence::SETTLE_QUIET_MS;
use aura::groups::facts::GroupFact;
use aura::groups::member::{GroupMember, Intent, Output};
use aura::groups::mls_epoch::epoch_id;
use aura::groups::seal::open_commit;
use aura::state::fact::{ContextId, DeviceKey};

struct Device {
    seed: [u8; 32],
    member: Option<GroupMember>,
    /// The KeyPackage this device offered, with its secrets, until a Welcome uses it.
    offered: Option<(KeyPackage, KeyPackageSecrets)>,
}

fn device_key(seed: &[u8; 32]) -> DeviceKey {
    DeviceKey(
        SignaturePrivateKey::from_seed(seed)
            .unwrap()
            .public_key()
            .to_bytes(),
    )
}

/// Polls everyone, delivering every fact to every member, until nothing moves; returns the
/// facts written.
fn pump(devices: &mut [Device], now: &mut u64, rng: &mut UnwrapErr<SysRng>) -> Vec<GroupFact> {
    let mut all = Vec::new();
    for _ in 0..4 {
        loop {
            let mut writes = Vec::new();
            let mut welcomes = Vec::new();
            for (index, device) in devices.iter_mut().enumerate() {
                let Some(member) = device.member.as_mut() else {
                    continue;
                };
                member.poll(*now, rng);
                while let Some(output) = member.poll_output() {
                    match output {
                        Output::Write(fact) => writes.push((index, device_key(&device.seed), fact)),
                        Output::Welcome { to, welcome } => welcomes.push((to, welcome)),
                        _ => {}
                    }
                }
            }
            for (to, welcome) in welcomes.drain(..) {
                let device = devices
                    .iter_mut()
                    .find(|d| device_key(&d.seed) == to)
                    .unwrap();
                let (package, secrets) = device.offered.take().unwrap();
                device.member =
                    Some(GroupMember::join(&welcome, &package, secrets, &device.seed).unwrap());
            }
            if writes.is_empty() {
                break;
            }
            for (from, author, fact) in writes {
                all.push(fact.clone());
                for (to, device) in devices.iter_mut().enumerate() {
                    if to != from
                        && let Some(member) = device.member.as_mut()
                    {
                        member.receive(author, fact.clone(), *now);
                    }
                }
            }
        }
        *now += SETTLE_QUIET_MS;
    }
    all
}

#[test]
fn every_key_a_removed_member_ever_held_opens_nothing_sent_after_its_removal() {
    let mut rng = UnwrapErr(SysRng);
    let mut now = 0;
    let context = ContextId([5; 32]);
    let mut devices: Vec<Device> = (1..=3u8)
        .map(|n| Device {
            seed: [n; 32],
            member: None,
            offered: None,
        })
        .collect();
    devices[0].member =
        Some(GroupMember::create(context, "keys", &devices[0].seed, &mut rng).unwrap());
    // B's KeyPackage private keys, kept by the test.
    let mut b_package_keys = None;
    for index in 1..=2 {
        let seed = devices[index].seed;
        let signing = SignaturePrivateKey::from_seed(&seed).unwrap();
        let (package, secrets) =
            generate_key_package(device_key(&seed).0.to_vec(), &signing, &mut rng).unwrap();
        if index == 1 {
            b_package_keys = Some((
                secrets.init_private_key.to_bytes(),
                secrets.leaf_private_key.to_bytes(),
            ));
        }
        devices[index].offered = Some((package.clone(), secrets));
        devices[0]
            .member
            .as_mut()
            .unwrap()
            .ask(Intent::Add(Box::new(package)));
        pump(&mut devices, &mut now, &mut rng);
        assert!(
            devices[index].member.is_some(),
            "device {index} never joined"
        );
    }
    let b_device = device_key(&devices[1].seed);

    // B writes and updates for a few epochs; the test keeps B's state at each.
    let mut b_states: Vec<Vec<u8>> = Vec::new();
    for round in 0..3 {
        let member = devices[1].member.as_mut().unwrap();
        let fact = member
            .send(format!("b {round}").as_bytes(), &mut rng)
            .unwrap();
        b_states.push(
            member
                .group()
                .unwrap()
                .export_state()
                .unwrap()
                .as_bytes()
                .to_vec(),
        );
        for device in devices.iter_mut().enumerate().filter(|(i, _)| *i != 1) {
            if let Some(member) = device.1.member.as_mut() {
                member.receive(b_device, fact.clone(), now);
            }
        }
        devices[1].member.as_mut().unwrap().ask(Intent::Update);
        pump(&mut devices, &mut now, &mut rng);
        let member = devices[1].member.as_ref().unwrap();
        b_states.push(
            member
                .group()
                .unwrap()
                .export_state()
                .unwrap()
                .as_bytes()
                .to_vec(),
        );
    }

    // A removes B; A and C go on.
    devices[0]
        .member
        .as_mut()
        .unwrap()
        .ask(Intent::Remove(b_device));
    let removal = pump(&mut devices, &mut now, &mut rng);
    assert!(devices[1].member.as_ref().unwrap().is_removed());
    let mut after = Vec::new();
    for round in 0..3 {
        for index in [0, 2] {
            let member = devices[index].member.as_mut().unwrap();
            after.push(
                member
                    .send(format!("after {round}").as_bytes(), &mut rng)
                    .unwrap(),
            );
        }
        devices[2].member.as_mut().unwrap().ask(Intent::Update);
        after.extend(pump(&mut devices, &mut now, &mut rng));
    }
    let a = devices[0].member.as_ref().unwrap();
    assert_eq!(a.roster().len(), 2);

    // Every state B had, carried as far as B could carry it: each commit it can open is
    // applied; then no message sent after the removal opens.
    let mut messages = 0;
    let mut opened_after_removal = 0;
    for bytes in &b_states {
        let mut state = Group::import_state(bytes).unwrap();
        for fact in removal.iter().chain(&after) {
            match fact {
                GroupFact::Message { message, .. } => {
                    messages += 1;
                    assert!(
                        state.unprotect(message).is_err(),
                        "a state of B's opened a message sent after its removal"
                    );
                }
                GroupFact::Commit { parent, sealed, .. } => {
                    let Ok(commit) = open_commit(&state, parent, sealed) else {
                        continue;
                    };
                    if removal.contains(fact) {
                        // Sealed for an epoch B was in: B reads that it was removed.
                        let _ = state.process_commit(&commit);
                    } else {
                        opened_after_removal += 1;
                    }
                }
                _ => {}
            }
        }
        assert!(
            state
                .members()
                .all(|(_, leaf)| leaf.signature_key != b_device.0)
                || epoch_id(&state).ok() != epoch_id(a.group().unwrap()).ok(),
            "B's state followed the group past its removal"
        );
    }
    assert_eq!(
        opened_after_removal, 0,
        "B opened a commit made after its removal"
    );
    assert!(messages >= 6 * b_states.len(), "{messages} messages tried");
    // B's KeyPackage keys were only ever good for B's own Welcome, before the removal.
    assert!(b_package_keys.is_some());
}
