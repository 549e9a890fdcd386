//! KeyPackages: this device keeps a few fresh ones (and a last-resort one) offered to each
//! contact in their pairwise context, and knows which ones each contact offers it. The
//! private halves are stored before a package is offered, so that a Welcome made from it can
//! always be opened; a package used to join is announced used and replaced, and its init
//! key is never offered again.

use std::collections::HashMap;

use zeroize::Zeroizing;

use crate::crypto::codec::{Decode, Encode};
use crate::crypto::group::{GroupError, KeyPackageSecrets, generate_key_package};
use crate::crypto::key_package::KeyPackage;
use crate::crypto::keys::{HpkePrivateKey, SignaturePrivateKey};
use crate::groups::facts::KEY_PACKAGE_REF_BYTES;
use crate::state::fact::{ContextId, DeviceKey};
use crate::state::store::KeyPackageRow;

/// Fresh KeyPackages offered to each contact, besides the last-resort one.
pub const KEY_PACKAGES_PER_CONTACT: usize = 3;
/// KeyPackages of one contact remembered; more are ignored until some are used.
pub const MAX_OFFERED_PER_CONTACT: usize = 16;
/// How long the secrets of a package used to join are kept: a commit that added this device
/// may lose, and the winner adds it again from the same package.
pub const USED_GRACE_MS: u64 = 10 * 60 * 1_000;

pub type Reference = [u8; KEY_PACKAGE_REF_BYTES];

/// One of this device's packages, with its secrets.
#[derive(Debug)]
pub struct OwnPackage {
    pub row: KeyPackageRow,
    pub package: KeyPackage,
    /// When it was used to join, if it was.
    pub used_at: Option<u64>,
}

impl OwnPackage {
    pub fn secrets(&self) -> Result<KeyPackageSecrets, GroupError> {
        Ok(KeyPackageSecrets {
            init_private_key: HpkePrivateKey::from_bytes(self.row.init_key.as_slice())?,
            leaf_private_key: HpkePrivateKey::from_bytes(self.row.leaf_key.as_slice())?,
        })
    }
}

/// A package a contact offers this device.
#[derive(Debug, Clone)]
pub struct Offered {
    pub reference: Reference,
    pub package: KeyPackage,
    pub last_resort: bool,
}

/// What this device knows of KeyPackages.
#[derive(Debug, Default)]
pub struct KeyPackages {
    pub own: HashMap<Reference, OwnPackage>,
    /// Packages each contact offers, oldest first.
    pub offered: HashMap<DeviceKey, Vec<Offered>>,
}

fn reference_of(package: &KeyPackage) -> Option<Reference> {
    package.reference().ok()?.as_slice().try_into().ok()
}

impl KeyPackages {
    /// Takes the packages kept in the store; a row that no longer decodes is skipped.
    pub fn load(rows: Vec<KeyPackageRow>) -> Self {
        let mut packages = Self::default();
        for row in rows {
            match KeyPackage::from_tls_bytes(&row.key_package) {
                Ok(package) => {
                    packages.own.insert(
                        row.reference,
                        OwnPackage {
                            row,
                            package,
                            used_at: None,
                        },
                    );
                }
                Err(err) => tracing::warn!(%err, "a stored KeyPackage that does not decode"),
            }
        }
        packages
    }

    /// New packages for `context` so that it holds the fresh ones and a last-resort one:
    /// their rows (to store first) and the packages (to offer).
    pub fn top_up(
        &mut self,
        context: ContextId,
        signing: &SignaturePrivateKey,
        now: u64,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<Vec<KeyPackageRow>, GroupError> {
        let held: Vec<&OwnPackage> = self
            .own
            .values()
            .filter(|own| own.row.context == context && own.used_at.is_none())
            .collect();
        let fresh = held.iter().filter(|own| !own.row.last_resort).count();
        let last_resort = held.iter().any(|own| own.row.last_resort);
        let mut wanted: Vec<bool> = vec![false; KEY_PACKAGES_PER_CONTACT.saturating_sub(fresh)];
        if !last_resort {
            wanted.push(true);
        }
        let mut rows = Vec::with_capacity(wanted.len());
        for last_resort in wanted {
            let identity = signing.public_key().to_bytes().to_vec();
            let (package, secrets) = generate_key_package(identity, signing, rng)?;
            let reference = reference_of(&package).ok_or(GroupError::WrongGroup)?;
            let row = KeyPackageRow {
                reference,
                context,
                last_resort,
                made_ms: now,
                key_package: package.to_tls_bytes()?,
                init_key: Zeroizing::new(*secrets.init_private_key.to_bytes()),
                leaf_key: Zeroizing::new(*secrets.leaf_private_key.to_bytes()),
            };
            self.own.insert(
                reference,
                OwnPackage {
                    row: row.clone(),
                    package,
                    used_at: None,
                },
            );
            rows.push(row);
        }
        Ok(rows)
    }

    /// A contact offers a package: kept if it is the contact's and verifies.
    pub fn offer(&mut self, contact: DeviceKey, bytes: &[u8], last_resort: bool) -> bool {
        let Ok(package) = KeyPackage::from_tls_bytes(bytes) else {
            return false;
        };
        if package.leaf_node.signature_key != contact.0 || package.verify().is_err() {
            return false;
        }
        let Some(reference) = reference_of(&package) else {
            return false;
        };
        let list = self.offered.entry(contact).or_default();
        if list.iter().any(|o| o.reference == reference) || list.len() >= MAX_OFFERED_PER_CONTACT {
            return false;
        }
        list.push(Offered {
            reference,
            package,
            last_resort,
        });
        true
    }

    /// The contact says it used up a package.
    pub fn used_by_contact(&mut self, contact: &DeviceKey, reference: &Reference) {
        if let Some(list) = self.offered.get_mut(contact) {
            list.retain(|o| o.reference != *reference);
        }
    }

    /// A package of `contact`'s to add it with: a fresh one (taken, so that it is never
    /// used twice from here), else the last-resort one (which may serve again).
    pub fn take_for(&mut self, contact: &DeviceKey) -> Option<KeyPackage> {
        let list = self.offered.get_mut(contact)?;
        if let Some(at) = list.iter().position(|o| !o.last_resort) {
            return Some(list.remove(at).package);
        }
        list.iter()
            .find(|o| o.last_resort)
            .map(|o| o.package.clone())
    }

    /// This device's package a Welcome is for, if any.
    pub fn welcomed(&self, welcome: &[u8]) -> Option<Reference> {
        self.own
            .iter()
            .find(|(_, own)| {
                crate::groups::member::GroupMember::welcome_is_for(welcome, &own.package)
            })
            .map(|(reference, _)| *reference)
    }

    /// Own packages used longer ago than the grace period: to forget.
    pub fn expired(&mut self, now: u64) -> Vec<Reference> {
        let gone: Vec<Reference> = self
            .own
            .iter()
            .filter(|(_, own)| {
                !own.row.last_resort
                    && own
                        .used_at
                        .is_some_and(|at| now.saturating_sub(at) >= USED_GRACE_MS)
            })
            .map(|(reference, _)| *reference)
            .collect();
        for reference in &gone {
            self.own.remove(reference);
        }
        gone
    }
}
