//! kcp-go's `BlockCrypt` for rpcx: AES-CFB under a fixed IV, or "none".

use aes::cipher::{AsyncStreamCipher, InnerIvInit, KeyInit};
use aes::{Aes128, Aes192, Aes256};

/// The IV every kcp-go AES datagram is encrypted under (crypt.go `initialVector`). The 16-byte
/// random nonce at the front of each datagram stands in for a per-datagram IV.
pub const KCP_GO_AES_IV: [u8; 16] = [
    167, 115, 79, 156, 18, 172, 27, 1, 164, 21, 242, 193, 252, 120, 230, 107,
];

/// The passphrase rpcx's own KCP examples derive their key from.
pub const RPCX_EXAMPLE_PASSPHRASE: &str = "rpcx-key";
/// The salt rpcx's own KCP examples derive their key with.
pub const RPCX_EXAMPLE_SALT: &str = "rpcx-salt";
/// PBKDF2 rounds in rpcx's examples.
pub const RPCX_EXAMPLE_ROUNDS: u32 = 4096;

/// PBKDF2-HMAC-SHA1 with 4096 rounds to a 32-byte (AES-256) key, as rpcx's examples do:
/// `pbkdf2.Key([]byte(passphrase), []byte(salt), 4096, 32, sha1.New)`.
pub fn derive_key(passphrase: &[u8], salt: &[u8]) -> [u8; 32] {
    pbkdf2::pbkdf2_hmac_array::<sha1::Sha1, 32>(passphrase, salt, RPCX_EXAMPLE_ROUNDS)
}

/// The key rpcx's KCP examples use: [`derive_key`] over [`RPCX_EXAMPLE_PASSPHRASE`] and
/// [`RPCX_EXAMPLE_SALT`].
pub fn rpcx_example_key() -> [u8; 32] {
    derive_key(
        RPCX_EXAMPLE_PASSPHRASE.as_bytes(),
        RPCX_EXAMPLE_SALT.as_bytes(),
    )
}

/// A key of a length AES does not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an AES key is 16, 24 or 32 bytes long, not {0}")]
pub struct KeyLengthError(pub usize);

#[derive(Clone)]
enum Cipher {
    None,
    Aes128(Aes128),
    Aes192(Aes192),
    Aes256(Aes256),
}

/// How every datagram is encrypted: kcp-go's `NewAESBlockCrypt` or `NewNoneBlockCrypt`.
///
/// Both keep the 16-byte nonce and the CRC32 in front of each datagram; "none" only skips the
/// cipher.
#[derive(Clone)]
pub struct BlockCrypt {
    cipher: Cipher,
}

impl std::fmt::Debug for BlockCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl BlockCrypt {
    /// kcp-go's `NewNoneBlockCrypt`: no cipher, nonce and CRC kept.
    pub fn none() -> BlockCrypt {
        BlockCrypt {
            cipher: Cipher::None,
        }
    }

    /// kcp-go's `NewAESBlockCrypt(key)`: AES-128, -192 or -256 by key length, in CFB mode.
    pub fn aes(key: &[u8]) -> Result<BlockCrypt, KeyLengthError> {
        let cipher = match key.len() {
            16 => Cipher::Aes128(Aes128::new_from_slice(key).map_err(|_| KeyLengthError(16))?),
            24 => Cipher::Aes192(Aes192::new_from_slice(key).map_err(|_| KeyLengthError(24))?),
            32 => Cipher::Aes256(Aes256::new_from_slice(key).map_err(|_| KeyLengthError(32))?),
            n => return Err(KeyLengthError(n)),
        };
        Ok(BlockCrypt { cipher })
    }

    /// AES-256 under [`rpcx_example_key`], what rpcx's examples run with.
    pub fn rpcx_example() -> BlockCrypt {
        let key = rpcx_example_key();
        match BlockCrypt::aes(&key) {
            Ok(c) => c,
            Err(_) => unreachable!("a 32-byte key is an AES-256 key"),
        }
    }

    /// `"none"`, `"aes-128"`, `"aes-192"` or `"aes-256"`.
    pub fn name(&self) -> &'static str {
        match self.cipher {
            Cipher::None => "none",
            Cipher::Aes128(_) => "aes-128",
            Cipher::Aes192(_) => "aes-192",
            Cipher::Aes256(_) => "aes-256",
        }
    }

    /// Encrypts a whole datagram in place.
    pub fn encrypt(&self, buf: &mut [u8]) {
        match &self.cipher {
            Cipher::None => {}
            Cipher::Aes128(c) => cfb_mode::Encryptor::inner_iv_init(c.clone(), iv()).encrypt(buf),
            Cipher::Aes192(c) => cfb_mode::Encryptor::inner_iv_init(c.clone(), iv()).encrypt(buf),
            Cipher::Aes256(c) => cfb_mode::Encryptor::inner_iv_init(c.clone(), iv()).encrypt(buf),
        }
    }

    /// Decrypts a whole datagram in place.
    pub fn decrypt(&self, buf: &mut [u8]) {
        match &self.cipher {
            Cipher::None => {}
            Cipher::Aes128(c) => cfb_mode::Decryptor::inner_iv_init(c.clone(), iv()).decrypt(buf),
            Cipher::Aes192(c) => cfb_mode::Decryptor::inner_iv_init(c.clone(), iv()).decrypt(buf),
            Cipher::Aes256(c) => cfb_mode::Decryptor::inner_iv_init(c.clone(), iv()).decrypt(buf),
        }
    }
}

fn iv() -> &'static aes::cipher::generic_array::GenericArray<u8, aes::cipher::consts::U16> {
    (&KCP_GO_AES_IV).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_length_picks_the_aes_variant() {
        assert_eq!(BlockCrypt::aes(&[0; 16]).unwrap().name(), "aes-128");
        assert_eq!(BlockCrypt::aes(&[0; 24]).unwrap().name(), "aes-192");
        assert_eq!(BlockCrypt::aes(&[0; 32]).unwrap().name(), "aes-256");
        assert_eq!(BlockCrypt::aes(&[0; 17]).unwrap_err(), KeyLengthError(17));
    }

    #[test]
    fn cfb_round_trips_odd_lengths() {
        let c = BlockCrypt::rpcx_example();
        let plain: Vec<u8> = (0..1001u32).map(|i| i as u8).collect();
        let mut buf = plain.clone();
        c.encrypt(&mut buf);
        assert_ne!(buf, plain);
        c.decrypt(&mut buf);
        assert_eq!(buf, plain);
    }
}
