//! The MS-CHAPv2 computations of RFC 2759 §8 and the key derivation of RFC 3079 §3.
//!
//! MD4 and single DES are broken primitives, kept here only because the protocol is
//! defined with them; nothing else in Corridor may use them.

use aws_lc_rs::digest;
use des::Des;
use des::cipher::{BlockCipherEncrypt, KeyInit};
use md4::{Digest, Md4};
use zeroize::Zeroizing;

/// Length of the authenticator and peer challenges (RFC 2759 §4).
pub(crate) const CHALLENGE_LEN: usize = 16;
/// Length of the NT-Response (RFC 2759 §8.1).
pub(crate) const NT_RESPONSE_LEN: usize = 24;

/// RFC 2759 §8.7 Magic1: "Magic server to client signing constant".
const AUTH_MAGIC1: &[u8; 39] = b"Magic server to client signing constant";
/// RFC 2759 §8.7 Magic2: "Pad to make it do more than one iteration".
const AUTH_MAGIC2: &[u8; 41] = b"Pad to make it do more than one iteration";
/// RFC 3079 §3.4 GetMasterKey Magic1.
const MPPE_MASTER_MAGIC: &[u8; 27] = b"This is the MPPE Master Key";
/// RFC 3079 §3.4 GetAsymmetricStartKey Magic2.
const MPPE_MAGIC2: &[u8; 84] =
    b"On the client side, this is the send key; on the server side, it is the receive key.";
/// RFC 3079 §3.4 GetAsymmetricStartKey Magic3.
const MPPE_MAGIC3: &[u8; 84] =
    b"On the client side, this is the receive key; on the server side, it is the send key.";
/// RFC 3079 §3.4 SHSpad1 and SHSpad2.
const SHS_PAD1: [u8; 40] = [0x00; 40];
const SHS_PAD2: [u8; 40] = [0xF2; 40];

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 20];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn md4(data: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&Md4::digest(data));
    out
}

/// RFC 2759 §8.2 ChallengeHash: the first 8 octets of
/// SHA1(PeerChallenge | AuthenticatorChallenge | UserName).
///
/// RFC 2759 §8.2: "Only the user name (as presented by the peer and excluding any prepended
/// domain name) is used as input to SHAUpdate()."
pub(crate) fn challenge_hash(
    peer_challenge: &[u8; CHALLENGE_LEN],
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    user_name: &str,
) -> [u8; 8] {
    let user = strip_domain(user_name);
    let digest = sha1(&[peer_challenge, authenticator_challenge, user.as_bytes()]);
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// `DOMAIN\user` → `user`: the domain goes in the Name field but not into the hash.
fn strip_domain(user_name: &str) -> &str {
    user_name
        .rsplit_once('\\')
        .map_or(user_name, |(_, user)| user)
}

/// RFC 2759 §8.3 NtPasswordHash: MD4 of the password in UTF-16LE ("Password is an ASCII
/// or Unicode string"; Unicode is what RFC 2759 §8.1 passes in).
pub(crate) fn nt_password_hash(password: &str) -> Zeroizing<[u8; 16]> {
    let unicode: Zeroizing<Vec<u8>> =
        Zeroizing::new(password.encode_utf16().flat_map(u16::to_le_bytes).collect());
    Zeroizing::new(md4(&unicode))
}

/// RFC 2759 §8.4 HashNtPasswordHash: MD4 of the password hash.
pub(crate) fn hash_nt_password_hash(password_hash: &[u8; 16]) -> Zeroizing<[u8; 16]> {
    Zeroizing::new(md4(password_hash))
}

/// RFC 2759 §8.6 DesEncrypt: one DES block under a 7-octet key, spread over the 8 octets
/// DES takes (the low bit of each, the parity bit, is ignored by DES).
fn des_encrypt(clear: &[u8; 8], key7: &[u8]) -> [u8; 8] {
    let k = key7;
    let key8 = Zeroizing::new([
        k[0] & 0xFE,
        (k[0] << 7) | (k[1] >> 1),
        (k[1] << 6) | (k[2] >> 2),
        (k[2] << 5) | (k[3] >> 3),
        (k[3] << 4) | (k[4] >> 4),
        (k[4] << 3) | (k[5] >> 5),
        (k[5] << 2) | (k[6] >> 6),
        k[6] << 1,
    ]);
    let cipher = Des::new(&(*key8).into());
    let mut block = (*clear).into();
    cipher.encrypt_block(&mut block);
    block.into()
}

/// RFC 2759 §8.5 ChallengeResponse: the password hash, zero-padded to 21 octets, keys
/// three DES encryptions of the challenge.
fn challenge_response(challenge: &[u8; 8], password_hash: &[u8; 16]) -> [u8; NT_RESPONSE_LEN] {
    let mut z = Zeroizing::new([0u8; 21]);
    z[..16].copy_from_slice(password_hash);
    let mut out = [0u8; NT_RESPONSE_LEN];
    for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&des_encrypt(challenge, &z[i * 7..i * 7 + 7]));
    }
    out
}

/// RFC 2759 §8.1 GenerateNTResponse.
pub(crate) fn generate_nt_response(
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    peer_challenge: &[u8; CHALLENGE_LEN],
    user_name: &str,
    password: &str,
) -> [u8; NT_RESPONSE_LEN] {
    let challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name);
    let password_hash = nt_password_hash(password);
    challenge_response(&challenge, &password_hash)
}

/// RFC 2759 §8.7 GenerateAuthenticatorResponse: the 20 octets the gateway must send back
/// (hex-encoded after "S=") to prove it knows the password.
pub(crate) fn generate_authenticator_response(
    password: &str,
    nt_response: &[u8; NT_RESPONSE_LEN],
    peer_challenge: &[u8; CHALLENGE_LEN],
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    user_name: &str,
) -> [u8; 20] {
    let password_hash_hash = hash_nt_password_hash(&nt_password_hash(password));
    let digest = sha1(&[&password_hash_hash[..], nt_response, AUTH_MAGIC1]);
    let challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name);
    sha1(&[&digest, &challenge, AUTH_MAGIC2])
}

/// RFC 3079 §3.4 GetMasterKey.
fn get_master_key(
    password_hash_hash: &[u8; 16],
    nt_response: &[u8; NT_RESPONSE_LEN],
) -> Zeroizing<[u8; 16]> {
    let digest = Zeroizing::new(sha1(&[password_hash_hash, nt_response, MPPE_MASTER_MAGIC]));
    let mut out = Zeroizing::new([0u8; 16]);
    out.copy_from_slice(&digest[..16]);
    out
}

/// RFC 3079 §3.4 GetAsymmetricStartKey for a 16-octet (128-bit) session key. The send
/// key of one side is the receive key of the other: the client's send key and the
/// server's receive key use Magic2, the other two Magic3.
fn get_asymmetric_start_key(
    master_key: &[u8; 16],
    is_send: bool,
    is_server: bool,
) -> Zeroizing<[u8; 16]> {
    let magic: &[u8] = if is_send == is_server {
        MPPE_MAGIC3
    } else {
        MPPE_MAGIC2
    };
    let digest = Zeroizing::new(sha1(&[master_key, &SHS_PAD1, magic, &SHS_PAD2]));
    let mut out = Zeroizing::new([0u8; 16]);
    out.copy_from_slice(&digest[..16]);
    out
}

/// The 64-octet MSK of EAP-MSCHAPv2.
///
/// The 32 key octets are the authenticator's receive start key followed by its send start
/// key (RFC 3079 §3.4 with IsServer = TRUE; what RADIUS servers hand the authenticator as
/// MS-MPPE-Recv-Key and MS-MPPE-Send-Key), which from the peer's side is our send key
/// followed by our receive key. Gateways pad
/// the MSK with 32 zero octets to 64, and RFC 7296 §2.16 feeds all of it to the prf for
/// the AUTH payload, so the padding must match for keyed prfs that do not zero-pad their
/// key themselves (AES-XCBC, AES-CMAC).
pub(crate) fn derive_msk(
    password: &str,
    nt_response: &[u8; NT_RESPONSE_LEN],
) -> Zeroizing<Vec<u8>> {
    let password_hash_hash = hash_nt_password_hash(&nt_password_hash(password));
    let master_key = get_master_key(&password_hash_hash, nt_response);
    let mut msk = Zeroizing::new(Vec::with_capacity(64));
    // The authenticator's receive key, then its send key.
    msk.extend_from_slice(&get_asymmetric_start_key(&master_key, false, true)[..]);
    msk.extend_from_slice(&get_asymmetric_start_key(&master_key, true, true)[..]);
    msk.resize(64, 0);
    msk
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2759 §9.2 "Hash Example" inputs, reused by RFC 3079 §3.5.
    const USER: &str = "User";
    const PASSWORD: &str = "clientPass";
    const AUTH_CHALLENGE: [u8; 16] = [
        0x5B, 0x5D, 0x7C, 0x7D, 0x7B, 0x3F, 0x2F, 0x3E, 0x3C, 0x2C, 0x60, 0x21, 0x32, 0x26, 0x26,
        0x28,
    ];
    const PEER_CHALLENGE: [u8; 16] = [
        0x21, 0x40, 0x23, 0x24, 0x25, 0x5E, 0x26, 0x2A, 0x28, 0x29, 0x5F, 0x2B, 0x3A, 0x33, 0x7C,
        0x7E,
    ];
    const NT_RESPONSE: [u8; 24] = [
        0x82, 0x30, 0x9E, 0xCD, 0x8D, 0x70, 0x8B, 0x5E, 0xA0, 0x8F, 0xAA, 0x39, 0x81, 0xCD, 0x83,
        0x54, 0x42, 0x33, 0x11, 0x4A, 0x3D, 0x85, 0xD6, 0xDF,
    ];
    const PASSWORD_HASH_HASH: [u8; 16] = [
        0x41, 0xC0, 0x0C, 0x58, 0x4B, 0xD2, 0xD9, 0x1C, 0x40, 0x17, 0xA2, 0xA1, 0x2F, 0xA5, 0x9F,
        0x3F,
    ];
    const MASTER_KEY: [u8; 16] = [
        0xFD, 0xEC, 0xE3, 0x71, 0x7A, 0x8C, 0x83, 0x8C, 0xB3, 0x88, 0xE5, 0x27, 0xAE, 0x3C, 0xDD,
        0x31,
    ];
    // RFC 3079 §3.5.3 "SendStartKey128": the sample derives the server's send key
    // (IsSend = TRUE, IsServer = TRUE, i.e. Magic3), which is also the client's receive key.
    const SEND_START_KEY_128: [u8; 16] = [
        0x8B, 0x7C, 0xDC, 0x14, 0x9B, 0x99, 0x3A, 0x1B, 0xA1, 0x18, 0xCB, 0x15, 0x3F, 0x56, 0xDC,
        0xCB,
    ];

    #[test]
    fn rfc2759_challenge_hash() {
        assert_eq!(
            challenge_hash(&PEER_CHALLENGE, &AUTH_CHALLENGE, USER),
            [0xD0, 0x2E, 0x43, 0x86, 0xBC, 0xE9, 0x12, 0x26]
        );
    }

    #[test]
    fn challenge_hash_ignores_the_domain() {
        assert_eq!(
            challenge_hash(&PEER_CHALLENGE, &AUTH_CHALLENGE, "CORP\\User"),
            challenge_hash(&PEER_CHALLENGE, &AUTH_CHALLENGE, USER)
        );
    }

    #[test]
    fn rfc2759_password_hashes() {
        let hash = nt_password_hash(PASSWORD);
        assert_eq!(
            *hash,
            [
                0x44, 0xEB, 0xBA, 0x8D, 0x53, 0x12, 0xB8, 0xD6, 0x11, 0x47, 0x44, 0x11, 0xF5, 0x69,
                0x89, 0xAE
            ]
        );
        assert_eq!(*hash_nt_password_hash(&hash), PASSWORD_HASH_HASH);
    }

    #[test]
    fn rfc2759_nt_response() {
        assert_eq!(
            generate_nt_response(&AUTH_CHALLENGE, &PEER_CHALLENGE, USER, PASSWORD),
            NT_RESPONSE
        );
    }

    #[test]
    fn rfc2759_authenticator_response() {
        let got = generate_authenticator_response(
            PASSWORD,
            &NT_RESPONSE,
            &PEER_CHALLENGE,
            &AUTH_CHALLENGE,
            USER,
        );
        let hex: String = got.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(
            format!("S={hex}"),
            "S=407A5589115FD0D6209F510FE9C04566932CDA56"
        );
    }

    #[test]
    fn rfc3079_master_and_send_keys() {
        let master = get_master_key(&PASSWORD_HASH_HASH, &NT_RESPONSE);
        assert_eq!(*master, MASTER_KEY);
        assert_eq!(
            *get_asymmetric_start_key(&master, true, true),
            SEND_START_KEY_128
        );
        assert_eq!(
            *get_asymmetric_start_key(&master, false, false),
            SEND_START_KEY_128
        );
        // RFC 3079 §3.5.1 (40-bit keys) shows the first 8 octets of the same key.
        assert_eq!(
            SEND_START_KEY_128[..8],
            [0x8B, 0x7C, 0xDC, 0x14, 0x9B, 0x99, 0x3A, 0x1B]
        );
        // The opposite direction (client send = server receive) uses Magic2.
        assert_eq!(
            get_asymmetric_start_key(&master, true, false),
            get_asymmetric_start_key(&master, false, true)
        );
    }

    #[test]
    fn msk_layout() {
        let msk = derive_msk(PASSWORD, &NT_RESPONSE);
        assert_eq!(msk.len(), 64);
        // Server receive key (computed independently from RFC 3079 §3.4 with Magic2; the
        // RFC prints only the other direction), then the server send key of §3.5.3.
        assert_eq!(
            msk[..16],
            [
                0xD5, 0xF0, 0xE9, 0x52, 0x1E, 0x3E, 0xA9, 0x58, 0x96, 0x45, 0xE8, 0x60, 0x51, 0xC8,
                0x22, 0x26
            ]
        );
        assert_eq!(msk[16..32], SEND_START_KEY_128);
        assert!(msk[32..].iter().all(|&b| b == 0));
    }

    #[test]
    fn non_ascii_passwords_use_utf16() {
        // "é" is U+00E9: UTF-16LE E9 00, not the UTF-8 bytes C3 A9.
        assert_eq!(*nt_password_hash("é"), md4(&[0xE9, 0x00]));
        assert_ne!(*nt_password_hash("é"), md4("é".as_bytes()));
    }
}
