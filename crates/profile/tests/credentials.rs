//! Reading the certificates and keys a connection needs from imported profiles.

mod common;

use common::{P12_PASSWORD, data, no_password};
use corridor_profile::model::Secret;
use corridor_profile::{InputErrorKind, client_credential, import_file, trusted_ca_certificates};

#[test]
fn pkcs12_credential_opens_with_the_password() {
    let profile = import_file(&data("valid/corridor-eap-tls.json"), &no_password())
        .unwrap()
        .profile;
    let cred = client_credential(&profile, Some(&Secret::new(P12_PASSWORD)))
        .unwrap()
        .expect("a client credential");
    assert!(!cred.chain.is_empty());
    // Both the key and the certificate are DER SEQUENCEs.
    assert_eq!(cred.private_key_der()[0], 0x30);
    assert_eq!(cred.chain[0][0], 0x30);
    assert!(!format!("{cred:?}").contains(&format!("{:?}", cred.private_key_der())));

    let err = client_credential(&profile, Some(&Secret::new("wrong"))).unwrap_err();
    assert!(
        matches!(err.kind(), InputErrorKind::Pkcs12WrongPassword),
        "{err}"
    );
    assert!(
        err.to_string().contains("auth.client_certificate.pkcs12"),
        "{err}"
    );

    let err = client_credential(&profile, None).unwrap_err();
    assert!(
        err.to_string().contains("PKCS#12 password is needed"),
        "{err}"
    );
}

#[test]
fn pem_credential_and_trusted_cas() {
    let profile = import_file(&data("valid/corridor-cert.json"), &no_password())
        .unwrap()
        .profile;
    let cred = client_credential(&profile, None)
        .unwrap()
        .expect("a client credential");
    assert_eq!(cred.chain.len(), 1);
    assert_eq!(cred.private_key_der()[0], 0x30);
    let cas = trusted_ca_certificates(&profile).unwrap();
    assert_eq!(cas.len(), 1);
    assert_eq!(cas[0], std::fs::read(data("pki/ca.der")).unwrap());
}

#[test]
fn password_profiles_have_no_client_credential() {
    let profile = import_file(&data("valid/corridor-eap-mschapv2.json"), &no_password())
        .unwrap()
        .profile;
    assert!(client_credential(&profile, None).unwrap().is_none());
}
