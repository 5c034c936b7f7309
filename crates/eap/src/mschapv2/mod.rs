//! EAP-MSCHAPv2, the peer side: the packet framing of draft-kamath-pppext-eap-mschapv2-02
//! around the MS-CHAPv2 exchange of RFC 2759.
//!
//! ```text
//! gateway                                   peer
//!   Challenge (auth challenge, name)  ──►
//!                                     ◄──   Response (peer challenge, NT-Response, name)
//!   Success Request "S=<proof> M=…"   ──►   verify the proof (RFC 2759 §8.7)
//!                                     ◄──   Success Response
//!   EAP-Success                       ──►   MSK available
//! ```
//!
//! The gateway's proof is what makes the method mutual: an EAP-Success is accepted only
//! after it verified, and a wrong proof ends authentication.

mod crypto;

use aws_lc_rs::constant_time::verify_slices_are_equal;

use crate::{EapError, MsChapV2Failure, Msk, Password, Random};

use self::crypto::{CHALLENGE_LEN, NT_RESPONSE_LEN};

/// MS-CHAPv2 OpCodes (draft-kamath-pppext-eap-mschapv2-02, RFC 2759).
const OP_CHALLENGE: u8 = 1;
const OP_RESPONSE: u8 = 2;
const OP_SUCCESS: u8 = 3;
const OP_FAILURE: u8 = 4;
const OP_CHANGE_PASSWORD: u8 = 7;

/// OpCode, MS-CHAPv2-ID and MS-Length.
const MS_HEADER_LEN: usize = 4;
/// Value-Size of a Response: Peer-Challenge 16, Reserved 8, NT-Response 24, Flags 1
/// (RFC 2759 §4).
const RESPONSE_VALUE_SIZE: u8 = 49;
/// The Success Request message starts with "S=" and 40 hex digits (RFC 2759 §5).
const AUTH_STRING_LEN: usize = 42;

/// What the method wants the peer to do after a Request.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send this type data and go on.
    Reply(Vec<u8>),
    /// Send this type data, then authentication has failed for this reason.
    ReplyThenFail(Vec<u8>, EapError),
}

#[derive(Debug)]
enum State {
    ExpectChallenge,
    /// We sent our Response; the gateway must now prove it knows the password.
    ExpectResult {
        expected_proof: [u8; 20],
        msk: Msk,
    },
    /// The proof verified; EAP-Success may come.
    Verified {
        msk: Msk,
    },
    Failed,
}

/// The EAP-MSCHAPv2 peer.
#[derive(Debug)]
pub(crate) struct MsChapV2 {
    username: String,
    password: Password,
    state: State,
}

impl MsChapV2 {
    pub(crate) fn new(username: String, password: Password) -> Self {
        Self {
            username,
            password,
            state: State::ExpectChallenge,
        }
    }

    /// True once the gateway's proof verified: an EAP-Success is now acceptable.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state, State::Verified { .. })
    }

    /// The MSK, once the gateway's proof verified.
    pub(crate) fn msk(&self) -> Option<&Msk> {
        match &self.state {
            State::Verified { msk } => Some(msk),
            _ => None,
        }
    }

    /// Handles the type data of an EAP-Request/MSCHAPv2.
    pub(crate) fn handle(&mut self, data: &[u8], rng: &mut dyn Random) -> Result<Step, EapError> {
        let (opcode, ms_id, body) = split_header(data)?;
        match (opcode, &self.state) {
            (OP_CHALLENGE, State::ExpectChallenge) => self.on_challenge(ms_id, body, rng),
            (OP_SUCCESS, State::ExpectResult { .. }) => self.on_success(body),
            (OP_FAILURE, State::ExpectResult { .. }) => Ok(self.on_failure(body)),
            (OP_CHALLENGE | OP_SUCCESS | OP_FAILURE, _) => Err(EapError::misbehaved(format!(
                "MSCHAPv2 {} Request out of order",
                opcode_name(opcode)
            ))),
            (OP_CHANGE_PASSWORD, _) => Err(EapError::misbehaved(
                "the gateway asked for an MSCHAPv2 password change, which Corridor does not do",
            )),
            (other, _) => Err(EapError::malformed(format!(
                "unknown MSCHAPv2 OpCode {other}"
            ))),
        }
    }

    fn on_challenge(
        &mut self,
        ms_id: u8,
        body: &[u8],
        rng: &mut dyn Random,
    ) -> Result<Step, EapError> {
        // RFC 2759 §3 / §4: Value-Size is 16 and the Value is the Authenticator Challenge;
        // the rest of the packet is the authenticator's Name.
        let Some((&value_size, rest)) = body.split_first() else {
            return Err(EapError::malformed("MSCHAPv2 Challenge has no Value-Size"));
        };
        if usize::from(value_size) != CHALLENGE_LEN || rest.len() < CHALLENGE_LEN {
            return Err(EapError::malformed(format!(
                "MSCHAPv2 Challenge Value-Size is {value_size}, it must be 16"
            )));
        }
        let mut auth_challenge = [0u8; CHALLENGE_LEN];
        auth_challenge.copy_from_slice(&rest[..CHALLENGE_LEN]);

        // RFC 2759 §8.1: "PeerChallenge ... a 16-octet random number".
        let mut peer_challenge = [0u8; CHALLENGE_LEN];
        rng.fill(&mut peer_challenge);

        let password = self.password.expose();
        let nt_response = crypto::generate_nt_response(
            &auth_challenge,
            &peer_challenge,
            &self.username,
            password,
        );
        let expected_proof = crypto::generate_authenticator_response(
            password,
            &nt_response,
            &peer_challenge,
            &auth_challenge,
            &self.username,
        );
        let msk = Msk::new(crypto::derive_msk(password, &nt_response).to_vec());

        let name = self.username.as_bytes();
        let ms_length = MS_HEADER_LEN + 1 + usize::from(RESPONSE_VALUE_SIZE) + name.len();
        let ms_length = u16::try_from(ms_length)
            .map_err(|_| EapError::Config("the MSCHAPv2 user name is too long".to_owned()))?;
        let mut out = Vec::with_capacity(usize::from(ms_length));
        out.push(OP_RESPONSE);
        // draft-kamath-pppext-eap-mschapv2-02: the MS-CHAPv2-ID of the Response is copied
        // from the Challenge.
        out.push(ms_id);
        out.extend_from_slice(&ms_length.to_be_bytes());
        out.push(RESPONSE_VALUE_SIZE);
        out.extend_from_slice(&peer_challenge);
        out.extend_from_slice(&[0u8; 8]); // Reserved, zero (RFC 2759 §4)
        out.extend_from_slice(&nt_response);
        out.push(0); // Flags, zero (RFC 2759 §4)
        out.extend_from_slice(name);
        debug_assert_eq!(out.len(), usize::from(ms_length));
        debug_assert_eq!(nt_response.len(), NT_RESPONSE_LEN);

        self.state = State::ExpectResult {
            expected_proof,
            msk,
        };
        Ok(Step::Reply(out))
    }

    fn on_success(&mut self, message: &[u8]) -> Result<Step, EapError> {
        let State::ExpectResult {
            expected_proof,
            msk,
        } = std::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(EapError::misbehaved(
                "MSCHAPv2 Success Request out of order",
            ));
        };
        // RFC 2759 §5: the message is "S=<auth_string> M=<message>", auth_string being
        // 40 hexadecimal digits of the authenticator response.
        let proof = parse_auth_string(message)?;
        // RFC 2759 §8.8 CheckAuthenticatorResponse: the peer compares the received
        // authenticator response with the one it computed; a mismatch means the gateway
        // does not know the password.
        if verify_slices_are_equal(&proof, &expected_proof).is_err() {
            return Err(EapError::MsChapV2BadProof);
        }
        self.state = State::Verified { msk };
        // draft-kamath-pppext-eap-mschapv2-02: the Success Response is the OpCode alone.
        Ok(Step::Reply(vec![OP_SUCCESS]))
    }

    fn on_failure(&mut self, message: &[u8]) -> Step {
        self.state = State::Failed;
        let failure = parse_failure(message);
        // draft-kamath-pppext-eap-mschapv2-02: the peer answers a Failure Request with
        // a Failure Response (the OpCode alone); the gateway then sends EAP-Failure. We do
        // not retry (R=1): the same password would fail the same way.
        Step::ReplyThenFail(vec![OP_FAILURE], EapError::MsChapV2(failure))
    }
}

/// Splits OpCode, MS-CHAPv2-ID and the rest, checking MS-Length.
fn split_header(data: &[u8]) -> Result<(u8, u8, &[u8]), EapError> {
    if data.len() < MS_HEADER_LEN {
        return Err(EapError::malformed(format!(
            "MSCHAPv2 Request of {} octets is shorter than its 4-octet header",
            data.len()
        )));
    }
    let ms_length = usize::from(u16::from_be_bytes([data[2], data[3]]));
    // draft-kamath-pppext-eap-mschapv2-02: MS-Length counts the MS-CHAPv2 packet from
    // the OpCode on, i.e. the EAP Length minus the 5 octets of the EAP header and Type.
    if ms_length != data.len() {
        return Err(EapError::malformed(format!(
            "MSCHAPv2 MS-Length is {ms_length} but the packet holds {} octets",
            data.len()
        )));
    }
    Ok((data[0], data[1], &data[MS_HEADER_LEN..]))
}

fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        OP_CHALLENGE => "Challenge",
        OP_RESPONSE => "Response",
        OP_SUCCESS => "Success",
        OP_FAILURE => "Failure",
        _ => "unknown",
    }
}

fn parse_auth_string(message: &[u8]) -> Result<[u8; 20], EapError> {
    let bad =
        || EapError::malformed("MSCHAPv2 Success Request does not start with S=<40 hex digits>");
    if message.len() < AUTH_STRING_LEN || !message.starts_with(b"S=") {
        return Err(bad());
    }
    let hex = &message[2..AUTH_STRING_LEN];
    let mut out = [0u8; 20];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let hi = hex_value(pair[0]).ok_or_else(bad)?;
        let lo = hex_value(pair[1]).ok_or_else(bad)?;
        *byte = (hi << 4) | lo;
    }
    // What follows is " M=<message>" or nothing.
    let rest = &message[AUTH_STRING_LEN..];
    if !rest.is_empty() && rest[0] != b' ' {
        return Err(bad());
    }
    Ok(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Parses "E=eeeeeeeeee R=r C=cccc… V=vvvvvvvvvv M=<msg>" (RFC 2759 §6). A missing or
/// unreadable E= gives code 0; M= runs to the end of the message and may hold spaces.
fn parse_failure(message: &[u8]) -> MsChapV2Failure {
    let text = String::from_utf8_lossy(message);
    let (fields, msg) = match text.find("M=") {
        Some(at) => (&text[..at], text[at + 2..].to_owned()),
        None => (&text[..], String::new()),
    };
    let mut failure = MsChapV2Failure {
        code: 0,
        retry: false,
        message: msg,
    };
    for field in fields.split_ascii_whitespace() {
        if let Some(v) = field.strip_prefix("E=") {
            failure.code = v.parse().unwrap_or(0);
        } else if let Some(v) = field.strip_prefix("R=") {
            failure.retry = v == "1";
        }
    }
    failure
}

#[cfg(test)]
mod tests;
