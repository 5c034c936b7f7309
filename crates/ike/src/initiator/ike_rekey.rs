//! Rekeying the IKE SA with CREATE_CHILD_SA (RFC 7296 §1.3.2, §2.18) when the gateway
//! starts it, and the old IKE SA until the gateway deletes it.
//!
//! The endpoint that starts the rekey becomes the original initiator of the new IKE
//! SA, so after a rekey by the gateway we are its original responder: our messages
//! clear the Initiator flag and are protected with SK_er/SK_ar.

use std::time::Instant;

use corridor_crypto::{DhGroup, KeyExchange};
use corridor_wire::payload::{DeleteBuilder, KeBuilder, NotifyBuilder, Payload};
use corridor_wire::{
    ExchangeType, Flags, KeMethod, Message, MessageBuilder, NotifyType, PayloadBuilder,
};

use super::established::{EstablishedSa, Pending, Task};
use super::{Event, Inbound, KeyMaterial, Shared};
use crate::Error;
use crate::keys::{self, IkeSaSecrets};
use crate::proposal;
use crate::protect::{self, Opened};

/// Nonce length, as in IKE_SA_INIT.
const NONCE_LEN: usize = 32;

/// Our CREATE_CHILD_SA request to rekey the IKE SA, outstanding.
pub(crate) struct OurIkeRekey {
    new_spi: u64,
    ni: Vec<u8>,
    ke: KeyExchange,
    ke_rounds: u8,
}

impl std::fmt::Debug for OurIkeRekey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OurIkeRekey")
            .field("new_spi", &format_args!("{:016x}", self.new_spi))
            .field("group", &self.ke.group())
            .finish_non_exhaustive()
    }
}

/// The IKE SA replaced by a rekey, kept to answer the gateway until it deletes it.
pub(crate) struct OldIkeSa {
    spi_i: u64,
    spi_r: u64,
    we_initiator: bool,
    secrets: IkeSaSecrets,
    peer_next_id: u32,
    last_response: Option<(u32, Vec<Vec<u8>>)>,
    /// The Message ID of our Delete of this SA, when we sent one.
    delete_id: Option<u32>,
}

impl std::fmt::Debug for OldIkeSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OldIkeSa")
            .field("spi_i", &format_args!("{:016x}", self.spi_i))
            .field("spi_r", &format_args!("{:016x}", self.spi_r))
            .finish_non_exhaustive()
    }
}

impl OldIkeSa {
    /// Whether `msg` belongs to this SA.
    pub(crate) fn owns(&self, msg: &Message<'_>) -> bool {
        let h = msg.header();
        h.spi_i == self.spi_i && h.spi_r == self.spi_r
    }
}

/// Sends CREATE_CHILD_SA to rekey the IKE SA (RFC 7296 §1.3.2: "HDR, SK {SA, Ni,
/// KEi}"), offering our IKE proposals with a new SPI and a KE payload for the group in
/// use.
pub(crate) fn start(
    shared: &mut Shared,
    now: Instant,
    _sa: &EstablishedSa,
) -> Result<Option<Pending>, Error> {
    let Some(group) = shared.ike_suite.map(|s| s.group) else {
        return Ok(None);
    };
    let mut rng = shared.rng.clone();
    let rekey = OurIkeRekey {
        new_spi: new_ike_spi(shared),
        ni: shared.random_bytes(NONCE_LEN),
        ke: KeyExchange::generate(group, &mut rng).map_err(Error::internal)?,
        ke_rounds: 0,
    };
    send(shared, now, &rekey)?;
    tracing::debug!("rekeying the IKE SA");
    Ok(Some(Pending::RekeyIke(Box::new(rekey))))
}

fn send(shared: &mut Shared, now: Instant, rekey: &OurIkeRekey) -> Result<(), Error> {
    // RFC 7296 §1.3.2: "The SA offer(s) include the SPI of the new IKE SA" (in every
    // proposal's SPI field).
    let mut offer = proposal::ike_sa(&shared.config.ike_proposals);
    for p in &mut offer.proposals {
        p.spi = rekey.new_spi.to_be_bytes().to_vec();
    }
    let inner = [
        PayloadBuilder::Sa(offer),
        PayloadBuilder::Nonce(rekey.ni.clone()),
        PayloadBuilder::Ke(KeBuilder {
            method: KeMethod::new(rekey.ke.group().iana_id()),
            data: rekey.ke.public_key().to_vec(),
        }),
    ];
    shared.send_request(now, ExchangeType::CREATE_CHILD_SA, &inner)
}

/// Handles the answer to our IKE SA rekey. A refusal keeps the old IKE SA (it is
/// tried again after a TEMPORARY_FAILURE); only a usable answer replaces it.
pub(crate) fn handle_response(
    shared: &mut Shared,
    now: Instant,
    sa: &mut EstablishedSa,
    mut rekey: OurIkeRekey,
    inbound: &Inbound<'_>,
) -> Result<(), Error> {
    if let Some(n) = inbound.notifies().find(|n| n.is_error()) {
        let notify = n.notify_type();
        if notify == NotifyType::INVALID_KE_PAYLOAD
            && rekey.ke_rounds == 0
            && let Ok(method) = n.accepted_ke_method()
            && let Some(group) = DhGroup::from_iana_id(method.get())
            && shared
                .config
                .ike_proposals
                .iter()
                .any(|p| p.groups.contains(&group))
        {
            let mut rng = shared.rng.clone();
            rekey.ke = KeyExchange::generate(group, &mut rng).map_err(Error::internal)?;
            rekey.ke_rounds += 1;
            send(shared, now, &rekey)?;
            sa.pending = Some(Pending::RekeyIke(Box::new(rekey)));
            return Ok(());
        }
        if notify == NotifyType::TEMPORARY_FAILURE {
            sa.ike_rekey_retry_at = now.checked_add(super::child_rekey::RETRY_AFTER);
        }
        tracing::warn!(%notify, "the gateway refused to rekey the IKE SA");
        return Ok(());
    }
    if let Err(e) = complete(shared, &rekey, inbound) {
        tracing::warn!(error = %e, "the gateway's answer to our IKE SA rekey is unusable; keeping the old IKE SA");
    }
    Ok(())
}

fn complete(shared: &mut Shared, rekey: &OurIkeRekey, inbound: &Inbound<'_>) -> Result<(), Error> {
    let payloads = inbound.payloads;
    let sa_payload = super::find(payloads, |p| match p {
        Payload::Sa(x) => Some(x),
        _ => None,
    })
    .ok_or_else(|| Error::misbehaved("the IKE SA rekey response has no SA payload"))?;
    let nr = super::find(payloads, |p| match p {
        Payload::Nonce(n) => Some(n.data()),
        _ => None,
    })
    .ok_or_else(|| Error::misbehaved("the IKE SA rekey response has no Nonce"))?;
    let ker = super::find(payloads, |p| match p {
        Payload::Ke(k) => Some(k),
        _ => None,
    })
    .ok_or_else(|| Error::misbehaved("the IKE SA rekey response has no KE payload"))?;
    let suite =
        proposal::match_ike(sa_payload, &shared.config.ike_proposals).map_err(Error::misbehaved)?;
    let their_spi = sa_payload
        .proposals()
        .first()
        .and_then(|p| <[u8; 8]>::try_from(p.spi()).ok())
        .map(u64::from_be_bytes)
        .filter(|s| *s != 0)
        .ok_or_else(|| Error::misbehaved("the gateway's new IKE SPI is missing or zero"))?;
    if suite.group != rekey.ke.group() || ker.method().get() != suite.group.iana_id() {
        return Err(Error::misbehaved(
            "the KE payload is not for the chosen group",
        ));
    }
    let shared_secret = rekey
        .ke
        .agree(ker.data())
        .map_err(|e| Error::misbehaved(format!("its key exchange value is invalid: {e}")))?;
    let old_secrets = shared
        .secrets
        .as_ref()
        .ok_or_else(|| Error::internal("no IKE SA keys"))?;
    let (secrets, material) = keys::derive_rekeyed(
        old_secrets,
        &suite,
        &shared_secret,
        &rekey.ni,
        nr,
        rekey.new_spi,
        their_spi,
        true,
    )?;
    // RFC 7296 §2.18: after the new IKE SA is set up, the old one is deleted: our
    // Delete goes out on the old SA, which answers on it until then.
    let delete_id = shared.next_message_id;
    let header = MessageBuilder::new(
        ExchangeType::INFORMATIONAL,
        Flags::new(shared.we_initiator, false),
        shared.spi_i,
        shared.spi_r,
        delete_id,
    );
    let mut rng = shared.rng.clone();
    let sealed = protect::seal(
        &header,
        &[PayloadBuilder::Delete(DeleteBuilder::ike())],
        &old_secrets.protection.outbound,
        &mut rng,
        None,
    )?;
    let datagrams = shared.frame(sealed);
    let port = shared.port;
    shared.queue(&datagrams, port);
    switch(
        shared,
        secrets,
        rekey.new_spi,
        their_spi,
        true,
        Some(delete_id),
    )?;
    shared.ike_suite = Some(suite);
    tracing::debug!(suite = %suite, "IKE SA rekeyed");
    shared
        .events
        .push_back(Event::KeyMaterial(KeyMaterial::Ike(material)));
    shared.events.push_back(Event::IkeSaRekeyed {
        spi_local: rekey.new_spi,
        spi_remote: their_spi,
        suite,
        by_gateway: false,
    });
    Ok(())
}

/// Moves the IKE SA to its replacement, keeping the old one to answer the gateway.
fn switch(
    shared: &mut Shared,
    secrets: IkeSaSecrets,
    spi_i: u64,
    spi_r: u64,
    we_initiator: bool,
    delete_id: Option<u32>,
) -> Result<(), Error> {
    let Some(old) = shared.secrets.replace(secrets) else {
        return Err(Error::internal("no IKE SA keys"));
    };
    shared.old_ike = Some(OldIkeSa {
        spi_i: shared.spi_i,
        spi_r: shared.spi_r,
        we_initiator: shared.we_initiator,
        secrets: old,
        peer_next_id: shared.peer_next_id,
        last_response: shared.last_response.take(),
        delete_id,
    });
    // RFC 7296 §2.18: the new IKE SA's Message IDs start at zero, and "the new IKE SA
    // [...] inherits all of the Child SAs" of the old one.
    shared.spi_i = spi_i;
    shared.spi_r = spi_r;
    shared.we_initiator = we_initiator;
    shared.next_message_id = 0;
    shared.peer_next_id = 0;
    shared.reassembly.clear();
    Ok(())
}

fn new_ike_spi(shared: &mut Shared) -> u64 {
    let mut spi = [0u8; 8];
    // As for our first SPI: never zero, never four leading zero octets (the non-ESP
    // marker).
    while spi[..4] == [0; 4] {
        shared.rng.fill_bytes(&mut spi);
    }
    u64::from_be_bytes(spi)
}

/// Answers the gateway's request to rekey the IKE SA and moves everything to the new
/// one.
pub(crate) fn answer(
    shared: &mut Shared,
    _now: Instant,
    message_id: u32,
    payloads: &[Payload<'_>],
    sa: &mut EstablishedSa,
) -> Result<(), Error> {
    let refuse = |shared: &mut Shared, notify: NotifyBuilder| {
        shared.send_response(
            ExchangeType::CREATE_CHILD_SA,
            message_id,
            &[PayloadBuilder::Notify(notify)],
        )
    };
    // RFC 7296 §1.3.2: "The CREATE_CHILD_SA request for rekeying an IKE SA is:
    // HDR, SK {SA, Ni, KEi}".
    let sa_payload = super::find(payloads, |p| match p {
        Payload::Sa(x) => Some(x),
        _ => None,
    });
    let ni = super::find(payloads, |p| match p {
        Payload::Nonce(n) => Some(n.data()),
        _ => None,
    });
    let kei = super::find(payloads, |p| match p {
        Payload::Ke(k) => Some(k),
        _ => None,
    });
    let (Some(sa_payload), Some(ni), Some(kei)) = (sa_payload, ni, kei) else {
        tracing::debug!("IKE SA rekey without SA, Nonce or KE answered with INVALID_SYNTAX");
        return refuse(shared, NotifyBuilder::new(NotifyType::INVALID_SYNTAX));
    };
    if sa.pending.is_some() && !matches!(sa.pending, Some(Pending::Dpd)) {
        // RFC 7296 §2.25: "A TEMPORARY_FAILURE notification SHOULD be sent when a peer
        // receives a request that cannot be completed due to a temporary condition such
        // as a rekeying operation."
        return refuse(shared, NotifyBuilder::new(NotifyType::TEMPORARY_FAILURE));
    }
    let (suite, gateway_spi, number) =
        match proposal::choose_ike(sa_payload, &shared.config.ike_proposals, kei.method().get()) {
            Ok(x) => x,
            // RFC 7296 §1.3: a KE payload for another group than the chosen one is
            // refused with INVALID_KE_PAYLOAD naming the group.
            Err(Some(group)) => {
                return refuse(
                    shared,
                    NotifyBuilder::invalid_ke_payload(KeMethod::new(group.iana_id())),
                );
            }
            Err(None) => {
                return refuse(shared, NotifyBuilder::new(NotifyType::NO_PROPOSAL_CHOSEN));
            }
        };
    let mut rng = shared.rng.clone();
    let ke = KeyExchange::generate(suite.group, &mut rng).map_err(Error::internal)?;
    let Ok(shared_secret) = ke.agree(kei.data()) else {
        return refuse(shared, NotifyBuilder::new(NotifyType::INVALID_SYNTAX));
    };
    let our_spi = new_ike_spi(shared);
    let nr = shared.random_bytes(NONCE_LEN);
    let old_secrets = shared
        .secrets
        .as_ref()
        .ok_or_else(|| Error::internal("no IKE SA keys"))?;
    // RFC 7296 §2.18: "SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)", and the new
    // keys come from it "using SPIi, SPIr, Ni, and Nr from the new exchange"; the
    // gateway started the exchange, so its nonce is Ni and its new SPI is SPIi.
    let (secrets, material) = keys::derive_rekeyed(
        old_secrets,
        &suite,
        &shared_secret,
        ni,
        &nr,
        gateway_spi,
        our_spi,
        false,
    )?;
    shared.send_response(
        ExchangeType::CREATE_CHILD_SA,
        message_id,
        &[
            PayloadBuilder::Sa(proposal::ike_choice(number, our_spi, &suite)),
            PayloadBuilder::Nonce(nr),
            PayloadBuilder::Ke(KeBuilder {
                method: KeMethod::new(group_id(suite.group)),
                data: ke.public_key().to_vec(),
            }),
        ],
    )?;
    switch(shared, secrets, gateway_spi, our_spi, false, None)?;
    shared.ike_suite = Some(suite);
    // A request of ours on the old SA may never be answered: do its work again on the
    // new one.
    shared.outstanding = None;
    match sa.pending.take() {
        Some(Pending::RekeyChild(r)) if r.is_recreate() => sa.push_task(Task::RecreateChild),
        Some(Pending::RekeyChild(_)) => sa.push_task(Task::RekeyChild),
        Some(Pending::DeleteChild { inbound_spi }) => {
            sa.push_task(Task::DeleteChild { inbound_spi });
        }
        _ => {}
    }
    tracing::debug!(suite = %suite, "IKE SA rekeyed by the gateway");
    shared
        .events
        .push_back(Event::KeyMaterial(KeyMaterial::Ike(material)));
    shared.events.push_back(Event::IkeSaRekeyed {
        spi_local: our_spi,
        spi_remote: gateway_spi,
        suite,
        by_gateway: true,
    });
    Ok(())
}

fn group_id(g: DhGroup) -> u16 {
    g.iana_id()
}

/// A message for the IKE SA replaced by a rekey: requests are answered (a Delete of
/// that SA ends it), anything else is dropped.
pub(crate) fn handle_old(shared: &mut Shared, msg: &Message<'_>) {
    let Some(mut old) = shared.old_ike.take() else {
        return;
    };
    if !process_old(shared, &mut old, msg) {
        shared.old_ike = Some(old);
    }
}

/// Handles `msg` on the old SA; true when it deleted that SA.
fn process_old(shared: &mut Shared, old: &mut OldIkeSa, msg: &Message<'_>) -> bool {
    if msg.is_response() {
        // The answer to our Delete of the old SA ends it.
        let ours = old.delete_id == Some(msg.header().message_id)
            && protect::open(msg, &old.secrets.protection.inbound).is_ok();
        if !ours {
            tracing::debug!("response on the replaced IKE SA dropped");
        }
        return ours;
    }
    let (first, plaintext) = match protect::open(msg, &old.secrets.protection.inbound) {
        Ok(Opened::Whole(first, plaintext)) => (first, plaintext),
        Ok(Opened::Fragment(_)) | Err(_) => {
            tracing::debug!("unusable message on the replaced IKE SA dropped");
            return false;
        }
    };
    let message_id = msg.header().message_id;
    if let Some((answered, datagrams)) = &old.last_response
        && *answered == message_id
    {
        let datagrams = datagrams.clone();
        let port = shared.port;
        shared.queue(&datagrams, port);
        return false;
    }
    if message_id != old.peer_next_id {
        return false;
    }
    old.peer_next_id = old.peer_next_id.wrapping_add(1);
    let Ok(payloads) = corridor_wire::parse_inner_payloads(first, &plaintext) else {
        return false;
    };
    let exchange = msg.exchange_type();
    let deletes_ike = exchange == ExchangeType::INFORMATIONAL
        && payloads
            .iter()
            .any(|p| matches!(p, Payload::Delete(d) if d.is_ike()));
    let reply: Vec<PayloadBuilder> = match exchange {
        // RFC 7296 §1.4.1: "The response to a request that deletes the IKE SA is an
        // empty INFORMATIONAL response."
        ExchangeType::INFORMATIONAL => Vec::new(),
        _ => vec![PayloadBuilder::Notify(NotifyBuilder::new(
            NotifyType::TEMPORARY_FAILURE,
        ))],
    };
    let header = MessageBuilder::new(
        exchange,
        Flags::new(old.we_initiator, true),
        old.spi_i,
        old.spi_r,
        message_id,
    );
    let mut rng = shared.rng.clone();
    match protect::seal(
        &header,
        &reply,
        &old.secrets.protection.outbound,
        &mut rng,
        None,
    ) {
        Ok(messages) => {
            let datagrams = shared.frame(messages);
            let port = shared.port;
            shared.queue(&datagrams, port);
            old.last_response = Some((message_id, datagrams));
        }
        Err(e) => tracing::debug!(error = %e, "cannot answer on the replaced IKE SA"),
    }
    if deletes_ike {
        tracing::debug!("the replaced IKE SA is deleted");
    }
    deletes_ike
}
