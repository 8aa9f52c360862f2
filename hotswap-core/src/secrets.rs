//! Sealing secrets at rest with the operator's key: XChaCha20-Poly1305
//! (RustCrypto's `chacha20poly1305`) with a random 24-byte nonce per value.
//!
//! The associated data binds each ciphertext to its module, key and
//! revision, so a sealed value copied to another module or key, or
//! relabelled, does not open. The control plane seals with the key; edge
//! nodes given the same key open a revision when they load a version, and
//! keep the clear values only in memory.

use std::fmt;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::domain::{ConfigKey, ConfigValues, ModuleConfig, ModuleName, SealedSecret, SecretValue};
use crate::error::{Error, Result};

/// Length of a key, bytes.
pub const KEY_BYTES: usize = 32;

/// The operator's key for secrets at rest. `Debug` never shows it.
#[derive(Clone)]
pub struct SecretsKey {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretsKey(<redacted>)")
    }
}

impl SecretsKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let cipher = XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| {
            Error::invalid(
                "secrets_key",
                format!("is {} bytes, a key is {KEY_BYTES}", bytes.len()),
            )
        })?;
        Ok(Self { cipher })
    }

    /// A key from 64 hex digits (surrounding whitespace ignored), as
    /// [`SecretsKey::generate_hex`] writes it.
    pub fn parse(text: &str) -> Result<Self> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|e| {
            Error::invalid(
                "secrets_key",
                format!("is not {} hex digits: {e}", 2 * KEY_BYTES),
            )
        })?);
        Self::from_bytes(&bytes)
    }

    /// A new random key as 64 hex digits.
    pub fn generate_hex() -> String {
        hex::encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// Seal `value` as the secret `key` of `module`, set in revision
    /// `set_in`.
    pub fn seal(
        &self,
        module: &ModuleName,
        key: &ConfigKey,
        set_in: u64,
        value: &SecretValue,
    ) -> Result<SealedSecret> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated_data(module, key, set_in);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: value.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| Error::internal("sealing a secret failed"))?;
        Ok(SealedSecret {
            set_in,
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        })
    }

    /// Open the secret `key` of `module`.
    pub fn open(
        &self,
        module: &ModuleName,
        key: &ConfigKey,
        sealed: &SealedSecret,
    ) -> Result<SecretValue> {
        let refused = || {
            Error::invalid(
                format!("secrets.{key}"),
                format!(
                    "of {module} does not open with this secrets key (another key sealed it, or the stored bytes were changed)"
                ),
            )
        };
        let nonce = hex::decode(&sealed.nonce).map_err(|_| refused())?;
        if nonce.len() != 24 {
            return Err(refused());
        }
        let ciphertext = hex::decode(&sealed.ciphertext).map_err(|_| refused())?;
        let aad = associated_data(module, key, sealed.set_in);
        let clear = Zeroizing::new(
            self.cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| refused())?,
        );
        let text = std::str::from_utf8(&clear).map_err(|_| refused())?;
        Ok(SecretValue::new(text))
    }
}

fn associated_data(module: &ModuleName, key: &ConfigKey, set_in: u64) -> Vec<u8> {
    format!("hotswap-secret/v1\0{module}\0{key}\0{set_in}").into_bytes()
}

/// Open `config` for a version that declared `declared`: the declared
/// values in the clear, secrets opened with `key`. Keys not declared are
/// left out (and their secrets never opened); a declared secret with no
/// key to open it is `Invalid` naming it.
pub fn open_config(
    config: &ModuleConfig,
    declared: &[ConfigKey],
    key: Option<&SecretsKey>,
) -> Result<ConfigValues> {
    let mut entries = std::collections::BTreeMap::new();
    for name in declared {
        if let Some(value) = config.values.get(name) {
            entries.insert(name.clone(), SecretValue::new(value.clone()));
        } else if let Some(sealed) = config.secrets.get(name) {
            let key = key.ok_or_else(|| {
                Error::invalid(
                    format!("secrets.{name}"),
                    format!(
                        "revision {} of {} holds this secret, and this node has no secrets key (--secrets-key-file)",
                        config.revision, config.module
                    ),
                )
            })?;
            entries.insert(name.clone(), key.open(&config.module, name, sealed)?);
        }
    }
    Ok(ConfigValues::new(config.revision, entries))
}

/// The first key of `declared` that `config` does not set.
pub fn first_missing<'a>(
    config: &ModuleConfig,
    declared: &'a [ConfigKey],
) -> Option<&'a ConfigKey> {
    declared.iter().find(|k| !config.has(k))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn names() -> (ModuleName, ConfigKey) {
        (
            ModuleName::new("shop").unwrap(),
            ConfigKey::new("token").unwrap(),
        )
    }

    #[test]
    fn a_sealed_secret_opens_only_where_it_was_sealed() {
        let (module, key) = names();
        let k = SecretsKey::parse(&SecretsKey::generate_hex()).unwrap();
        let value = SecretValue::new("s3cr3t-value");
        let sealed = k.seal(&module, &key, 2, &value).unwrap();
        assert!(!sealed.ciphertext.contains(&hex::encode("s3cr3t-value")));
        assert_eq!(k.open(&module, &key, &sealed).unwrap(), value);
        // Another module, key, revision label or key does not open it.
        let other = ModuleName::new("other").unwrap();
        assert!(k.open(&other, &key, &sealed).is_err());
        assert!(
            k.open(&module, &ConfigKey::new("t2").unwrap(), &sealed)
                .is_err()
        );
        let relabelled = SealedSecret {
            set_in: 1,
            ..sealed.clone()
        };
        assert!(k.open(&module, &key, &relabelled).is_err());
        let stranger = SecretsKey::parse(&SecretsKey::generate_hex()).unwrap();
        let e = stranger.open(&module, &key, &sealed).unwrap_err();
        assert!(e.to_string().contains("secrets.token"), "{e}");
        // A flipped byte does not open either.
        let mut bytes = hex::decode(&sealed.ciphertext).unwrap();
        bytes[0] ^= 1;
        let tampered = SealedSecret {
            ciphertext: hex::encode(bytes),
            ..sealed
        };
        assert!(k.open(&module, &key, &tampered).is_err());
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let (module, key) = names();
        let k = SecretsKey::parse(&SecretsKey::generate_hex()).unwrap();
        let v = SecretValue::new("same");
        let a = k.seal(&module, &key, 1, &v).unwrap();
        let b = k.seal(&module, &key, 1, &v).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn bad_keys_are_named() {
        for text in ["", "abc", &"0".repeat(62), &"z".repeat(64)] {
            let e = SecretsKey::parse(text).unwrap_err();
            assert!(e.to_string().contains("secrets_key"), "{e}");
        }
        let k = SecretsKey::parse(&format!("  {}\n", "ab".repeat(32))).unwrap();
        assert_eq!(format!("{k:?}"), "SecretsKey(<redacted>)");
    }

    #[test]
    fn opening_keeps_only_declared_keys() {
        let (module, key) = names();
        let k = SecretsKey::parse(&SecretsKey::generate_hex()).unwrap();
        let mut config = ModuleConfig::none(module.clone());
        config.revision = 1;
        config
            .values
            .insert(ConfigKey::new("greeting").unwrap(), "hi".into());
        config
            .values
            .insert(ConfigKey::new("hidden").unwrap(), "no".into());
        config.secrets.insert(
            key.clone(),
            k.seal(&module, &key, 1, &SecretValue::new("tok")).unwrap(),
        );
        let declared = [ConfigKey::new("greeting").unwrap(), key.clone()];
        let open = open_config(&config, &declared, Some(&k)).unwrap();
        assert_eq!(open.get("greeting"), Some("hi"));
        assert_eq!(open.get("token"), Some("tok"));
        assert_eq!(open.get("hidden"), None);
        let e = open_config(&config, &declared, None).unwrap_err();
        assert!(e.to_string().contains("secrets.token"), "{e}");
        // Without the secret declared, no key is needed.
        assert!(open_config(&config, &declared[..1], None).is_ok());
        let wanted = [ConfigKey::new("missing").unwrap()];
        assert_eq!(first_missing(&config, &wanted), Some(&wanted[0]));
        assert_eq!(first_missing(&config, &declared), None);
    }
}
