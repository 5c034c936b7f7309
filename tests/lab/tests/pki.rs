//! The test PKI has the names, key types, extensions and chains the scenarios rely on, and
//! the PKCS#12 bundles open with the documented password. Also checks that this machine
//! can run labs at all, so that a missing package fails loudly here.
#![cfg(target_os = "linux")]

use std::fs;
use std::path::Path;

use lab::{ClientCert, P12_PASSWORD};
use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
use x509_parser::extensions::GeneralName;
use x509_parser::pem::parse_x509_pem;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

fn pem_der(path: &Path) -> Vec<u8> {
    let text = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_x509_pem(&text).unwrap().1.contents
}

fn with_cert<R>(path: &Path, f: impl FnOnce(&X509Certificate<'_>) -> R) -> R {
    let der = pem_der(path);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    f(&cert)
}

fn key_bits(cert: &X509Certificate<'_>) -> (String, usize) {
    match cert.public_key().parsed().unwrap() {
        PublicKey::RSA(rsa) => ("rsa".into(), rsa.key_size()),
        PublicKey::EC(ec) => ("ec".into(), ec.key_size()),
        other => (format!("{other:?}"), 0),
    }
}

fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => format!("dns:{d}"),
            GeneralName::RFC822Name(e) => format!("email:{e}"),
            GeneralName::IPAddress(ip) => format!("ip:{ip:?}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn this_machine_can_run_the_lab() {
    if let Err(e) = lab::preflight::check() {
        panic!("{e:#}");
    }
}

#[test]
fn gateway_certificates_are_fit_for_ike() {
    let pki = lab::pki::shared().unwrap();
    for (path, alg, bits) in [
        (pki.gateway_cert(), "ec", 256),
        (pki.long_gateway_cert(), "rsa", 4096),
    ] {
        with_cert(&path, |cert| {
            assert_eq!(key_bits(cert), (alg.to_string(), bits));
            assert!(cert.subject().to_string().contains("CN=vpn.corp.example"));
            let sans = sans(cert);
            assert!(
                sans.contains(&"dns:vpn.corp.example".to_string()),
                "{sans:?}"
            );
            assert!(sans.contains(&"ip:[198, 18, 0, 1]".to_string()), "{sans:?}");
            let eku = cert.extended_key_usage().unwrap().unwrap().value;
            assert!(eku.server_auth);
            let ipsec_ike = "1.3.6.1.5.5.7.3.17";
            assert!(
                eku.other.iter().any(|o| o.to_id_string() == ipsec_ike),
                "{eku:?}"
            );
        });
    }
}

#[test]
fn client_certificates_have_the_expected_keys_and_identities() {
    let pki = lab::pki::shared().unwrap();
    let cases = [
        (
            pki.client_cert(ClientCert::Ecdsa),
            ("ec", 256),
            "email:alice@corp.example",
        ),
        (
            pki.client_cert(ClientCert::Rsa),
            ("rsa", 3072),
            "email:bob@corp.example",
        ),
        (pki.eap_tls_cert(), ("ec", 256), "email:carol@corp.example"),
    ];
    for (path, (alg, bits), identity) in cases {
        with_cert(&path, |cert| {
            assert_eq!(
                key_bits(cert),
                (alg.to_string(), bits),
                "{}",
                path.display()
            );
            assert!(
                sans(cert).contains(&identity.to_string()),
                "{}",
                path.display()
            );
            assert!(
                cert.extended_key_usage()
                    .unwrap()
                    .unwrap()
                    .value
                    .client_auth
            );
            assert!(cert.issuer().to_string().contains("Corridor Lab Root CA"));
        });
    }
    with_cert(&pki.client_cert(ClientCert::Rsa), |cert| {
        assert!(sans(cert).contains(&"dns:bob-laptop.corp.example".to_string()));
    });
}

#[test]
fn long_chain_links_root_intermediates_and_gateway() {
    let pki = lab::pki::shared().unwrap();
    let [int1, int2] = pki.long_intermediates();
    let chain = [pki.long_gateway_cert(), int2, int1, pki.long_root_pem()];
    let names: Vec<(String, String, (String, usize))> = chain
        .iter()
        .map(|p| {
            with_cert(p, |c| {
                (c.subject().to_string(), c.issuer().to_string(), key_bits(c))
            })
        })
        .collect();
    for pair in names.windows(2) {
        assert_eq!(
            pair[0].1, pair[1].0,
            "issuer of {} is not the next certificate",
            pair[0].0
        );
    }
    assert_eq!(names[3].0, names[3].1, "the root is self-signed");
    for (subject, _, key) in &names {
        assert_eq!(key, &("rsa".to_string(), 4096), "{subject}");
    }
    // Three RSA-4096 certificates alone exceed any sane MTU: IKE_AUTH must fragment.
    let total: usize = chain[..3].iter().map(|p| pem_der(p).len()).sum();
    assert!(total > 4000, "{total}");
}

#[test]
fn pkcs12_bundles_open_with_the_lab_password() {
    let pki = lab::pki::shared().unwrap();
    for path in [
        pki.client_p12(ClientCert::Ecdsa),
        pki.client_p12(ClientCert::Rsa),
        pki.eap_tls_p12(),
    ] {
        let data = fs::read(&path).unwrap();
        let store = KeyStore::from_pkcs12(&data, P12_PASSWORD, Pkcs12ImportPolicy::Relaxed)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (_, chain) = store.private_key_chain().expect("a key with its chain");
        assert_eq!(chain.certs().len(), 2, "{}: leaf and CA", path.display());
        assert!(KeyStore::from_pkcs12(&data, "wrong", Pkcs12ImportPolicy::Relaxed).is_err());
    }
}

#[test]
fn the_pki_is_cached_on_disk() {
    let pki = lab::pki::shared().unwrap();
    assert!(pki.dir().join("COMPLETE").is_file());
    let again = lab::pki::load_or_generate(pki.dir().parent().unwrap()).unwrap();
    assert_eq!(again.dir(), pki.dir());
    assert_eq!(
        fs::read(again.ca_pem()).unwrap(),
        fs::read(pki.ca_pem()).unwrap()
    );
}
