//! The authenticator (gateway) side of EAP-MSCHAPv2 (RFC 2759, RFC 3079,
//! draft-kamath-pppext-eap-mschapv2), written for the test responder only.

use aws_lc_rs::digest;
use des::Des;
use des::cipher::{BlockCipherEncrypt, KeyInit};
use md4::{Digest, Md4};

const EAP_REQUEST: u8 = 1;
const EAP_RESPONSE: u8 = 2;
const EAP_SUCCESS: u8 = 3;
const EAP_FAILURE: u8 = 4;
const TYPE_IDENTITY: u8 = 1;
const TYPE_MSCHAPV2: u8 = 26;
const OP_CHALLENGE: u8 = 1;
const OP_RESPONSE: u8 = 2;
const OP_SUCCESS: u8 = 3;

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().try_into().unwrap()
}

fn md4(data: &[u8]) -> [u8; 16] {
    Md4::digest(data).into()
}

fn nt_hash(password: &str) -> [u8; 16] {
    let u: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    md4(&u)
}

fn des(clear: &[u8; 8], k: &[u8]) -> [u8; 8] {
    let key = [
        k[0],
        (k[0] << 7) | (k[1] >> 1),
        (k[1] << 6) | (k[2] >> 2),
        (k[2] << 5) | (k[3] >> 3),
        (k[3] << 4) | (k[4] >> 4),
        (k[4] << 3) | (k[5] >> 5),
        (k[5] << 2) | (k[6] >> 6),
        k[6] << 1,
    ];
    let cipher = Des::new(&key.into());
    let mut block = (*clear).into();
    cipher.encrypt_block(&mut block);
    block.into()
}

fn challenge_hash(peer: &[u8], auth: &[u8], user: &str) -> [u8; 8] {
    sha1(&[peer, auth, user.as_bytes()])[..8]
        .try_into()
        .unwrap()
}

fn nt_response(challenge: &[u8; 8], password: &str) -> [u8; 24] {
    let mut z = [0u8; 21];
    z[..16].copy_from_slice(&nt_hash(password));
    let mut out = [0u8; 24];
    for i in 0..3 {
        out[i * 8..i * 8 + 8].copy_from_slice(&des(challenge, &z[i * 7..i * 7 + 7]));
    }
    out
}

fn eap(code: u8, id: u8, ty: Option<u8>, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(t) = ty {
        body.push(t);
    }
    body.extend_from_slice(data);
    let len = (4 + body.len()) as u16;
    let mut out = vec![code, id];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn ms_packet(op: u8, ms_id: u8, value: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut v = vec![op, ms_id, 0, 0];
    if !value.is_empty() {
        v.push(value.len() as u8);
        v.extend_from_slice(value);
    }
    v.extend_from_slice(rest);
    let len = v.len() as u16;
    v[2..4].copy_from_slice(&len.to_be_bytes());
    v
}

/// Where the conversation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    IdentitySent,
    ChallengeSent { id: u8, user: String },
    SuccessSent { msk: Vec<u8> },
    Done { msk: Vec<u8> },
    Failed,
}

/// One EAP-MSCHAPv2 authenticator run.
#[derive(Debug)]
pub struct Authenticator {
    users: Vec<(String, String)>,
    challenge: [u8; 16],
    pub stage: Stage,
    /// How many MSCHAPv2 Responses (which carry the credential proof) arrived.
    pub responses_received: usize,
}

impl Authenticator {
    /// Starts with an EAP-Request/Identity; returns it.
    pub fn start(users: Vec<(String, String)>, challenge: [u8; 16]) -> (Self, Vec<u8>) {
        (
            Self {
                users,
                challenge,
                stage: Stage::IdentitySent,
                responses_received: 0,
            },
            eap(EAP_REQUEST, 1, Some(TYPE_IDENTITY), &[]),
        )
    }

    /// The MSK once EAP succeeded.
    pub fn msk(&self) -> Option<&[u8]> {
        match &self.stage {
            Stage::Done { msk } => Some(msk),
            _ => None,
        }
    }

    /// Handles one EAP Response and returns the next EAP message to send.
    pub fn handle(&mut self, msg: &[u8]) -> Vec<u8> {
        let fail = |s: &mut Self, id: u8| {
            s.stage = Stage::Failed;
            eap(EAP_FAILURE, id, None, &[])
        };
        if msg.len() < 5 || msg[0] != EAP_RESPONSE {
            return fail(self, 0);
        }
        let id = msg[1];
        let ty = msg[4];
        let data = &msg[5..];
        match (&self.stage, ty) {
            (Stage::IdentitySent, TYPE_IDENTITY) => {
                let user = String::from_utf8_lossy(data).to_string();
                let ms = ms_packet(OP_CHALLENGE, 2, &self.challenge, b"gateway");
                self.stage = Stage::ChallengeSent { id: 2, user };
                eap(EAP_REQUEST, 2, Some(TYPE_MSCHAPV2), &ms)
            }
            (Stage::ChallengeSent { user, .. }, TYPE_MSCHAPV2)
                if data.first() == Some(&OP_RESPONSE) && data.len() >= 5 + 49 =>
            {
                self.responses_received += 1;
                let value = &data[5..5 + 49];
                let peer_challenge = &value[..16];
                let nt = &value[24..48];
                let name = String::from_utf8_lossy(&data[5 + 49..]).to_string();
                let Some((_, password)) = self.users.iter().find(|(u, _)| *u == name) else {
                    return fail(self, id);
                };
                let _ = user;
                let ch = challenge_hash(peer_challenge, &self.challenge, &name);
                if nt_response(&ch, password) != nt {
                    return fail(self, id);
                }
                let hash_hash = md4(&nt_hash(password));
                let digest = sha1(&[&hash_hash, nt, b"Magic server to client signing constant"]);
                let auth = sha1(&[&digest, &ch, b"Pad to make it do more than one iteration"]);
                let hex: String = auth.iter().map(|b| format!("{b:02X}")).collect();
                let message = format!("S={hex} M=Welcome");
                // RFC 3079 §3.4 keys, from the authenticator's side: receive key (Magic2)
                // then send key (Magic3), padded to 64.
                let master: [u8; 16] = sha1(&[&hash_hash, nt, b"This is the MPPE Master Key"])
                    [..16]
                    .try_into()
                    .unwrap();
                let start_key = |magic: &[u8]| {
                    sha1(&[&master, &[0u8; 40], magic, &[0xf2u8; 40]])[..16].to_vec()
                };
                let mut msk = start_key(
                    b"On the client side, this is the send key; on the server side, it is the receive key.",
                );
                msk.extend(start_key(
                    b"On the client side, this is the receive key; on the server side, it is the send key.",
                ));
                msk.resize(64, 0);
                self.stage = Stage::SuccessSent { msk };
                let ms = ms_packet(OP_SUCCESS, data[1], &[], message.as_bytes());
                eap(EAP_REQUEST, 3, Some(TYPE_MSCHAPV2), &ms)
            }
            (Stage::SuccessSent { msk }, TYPE_MSCHAPV2) if data.first() == Some(&OP_SUCCESS) => {
                let msk = msk.clone();
                self.stage = Stage::Done { msk };
                eap(EAP_SUCCESS, id, None, &[])
            }
            _ => fail(self, id),
        }
    }
}
