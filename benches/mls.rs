//! MLS group operation benchmarks (see BENCHMARKS.md for targets and results).
//!
//! Groups are built directly by `GroupFixture` (full trees, no blanks) so
//! that a 10,000-member group costs seconds rather than 10,000 commits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/rng.rs"]
mod rng;

use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};

use aura::crypto::group::fixture::GroupFixture;
use aura::crypto::group::{Group, KeyPackageSecrets, generate_key_package};
use aura::crypto::keys::SignaturePrivateKey;
use aura::crypto::tree_math::LeafIndex;
use rng::TestRng;

const UPDATE_SIZES: [u32; 5] = [2, 16, 128, 1024, 10_000];
const LARGE_GROUP: u32 = 1_000;
const MESSAGE_BYTES: usize = 1024;

/// The committer is the first member, whose copath has a member in every
/// subtree (the longest filtered path, even when the member count is not a
/// power of two), and the receiver its sibling: their lowest common ancestor
/// is the lowest possible, so the receiver derives and checks every key on
/// the path. Both are the slowest cases.
const COMMITTER: LeafIndex = LeafIndex(0);
const RECEIVER: LeafIndex = LeafIndex(1);

fn update_commits(c: &mut Criterion) {
    let mut rng = TestRng::new(1);
    let mut group = c.benchmark_group("update_commit");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for members in UPDATE_SIZES {
        let fixture = GroupFixture::new(b"bench", members, &mut rng).unwrap();
        let (committer, receiver) = (COMMITTER, RECEIVER);
        group.bench_function(BenchmarkId::new("create", members), |b| {
            b.iter_batched(
                || fixture.member(committer).unwrap(),
                |mut member| {
                    let output = member.update(&mut rng).unwrap();
                    // Dropping the old state is the caller's business, not the commit's.
                    (member, output)
                },
                BatchSize::PerIteration,
            );
        });
        let commit = fixture
            .member(committer)
            .unwrap()
            .update(&mut rng)
            .unwrap()
            .commit;
        group.bench_function(BenchmarkId::new("process", members), |b| {
            b.iter_batched(
                || fixture.member(receiver).unwrap(),
                |mut member| {
                    member.process_commit(&commit).unwrap();
                    member
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn membership_changes(c: &mut Criterion) {
    let mut rng = TestRng::new(2);
    let fixture = GroupFixture::new(b"bench", LARGE_GROUP, &mut rng).unwrap();
    let committer = LeafIndex(LARGE_GROUP / 2);
    let mut group = c.benchmark_group("membership_1000");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut setup_rng = TestRng::new(4);
    group.bench_function("add_commit_and_welcome", |b| {
        b.iter_batched(
            || {
                let key = SignaturePrivateKey::generate(&mut setup_rng);
                let (package, _) =
                    generate_key_package(b"new".to_vec(), &key, &mut setup_rng).unwrap();
                (fixture.member(committer).unwrap(), package)
            },
            |(mut member, package)| {
                let output = member.add_member(&package, &mut rng).unwrap();
                (member, output)
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("remove_commit", |b| {
        b.iter_batched(
            || fixture.member(committer).unwrap(),
            |mut member| {
                let output = member.remove_member(LeafIndex(7), &mut rng).unwrap();
                (member, output)
            },
            BatchSize::PerIteration,
        );
    });
    let key = SignaturePrivateKey::generate(&mut rng);
    let (package, secrets) = generate_key_package(b"new".to_vec(), &key, &mut rng).unwrap();
    let welcome = fixture
        .member(committer)
        .unwrap()
        .add_member(&package, &mut rng)
        .unwrap()
        .welcome
        .unwrap();
    group.bench_function("join_from_welcome", |b| {
        b.iter_batched(
            || KeyPackageSecrets {
                init_private_key: secrets.init_private_key.clone(),
                leaf_private_key: secrets.leaf_private_key.clone(),
            },
            |secrets| Group::join_from_welcome(&welcome, &package, secrets, key.clone()).unwrap(),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn application_messages(c: &mut Criterion) {
    let mut rng = TestRng::new(3);
    let fixture = GroupFixture::new(b"bench", 16, &mut rng).unwrap();
    let mut sender = fixture.member(LeafIndex(0)).unwrap();
    let mut receiver = fixture.member(LeafIndex(1)).unwrap();
    let message = vec![0x61; MESSAGE_BYTES];
    let mut group = c.benchmark_group("application");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("protect_unprotect_1KiB", |b| {
        b.iter(|| {
            let sealed = sender.protect(&message, b"", &mut rng).unwrap();
            receiver.unprotect(&sealed).unwrap()
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    update_commits,
    membership_changes,
    application_messages
);
criterion_main!(benches);
