//! Key exchange: RFC 5903 and RFC 7748 known answers through the public API (private
//! values injected through the RNG), MODP agreement, and peer-value validation.

mod common;

use common::{FixedRandom, hex};
use corridor_crypto::*;

/// RFC 5903 §8.1 (group 19) and §8.2 (group 20): with private value i, the KE data is
/// gix | giy and the shared secret with gr = grx | gry is girx.
#[test]
fn rfc5903_ecp_vectors() {
    let cases = [
        (
            DhGroup::Ecp256,
            "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
            "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180
             5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
            "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63
             56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
            "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE",
        ),
        (
            DhGroup::Ecp384,
            "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655
             E35B5380 41E649EE 3FAEF896 783AB194",
            "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6
             DE3AC808 ACB4BDB4 C88732AE E95F41AA
             9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E
             EB9FCFF3 C2C947DA E69B4C63 4573A81C",
            "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D
             0D1AC43A 0336DEF9 6FDA41D0 774A3571
             DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF
             F83FA401 42209DFF 5EAAD96D B9E6386C",
            "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4
             D6031355 69B9E9D0 9CF5D4A2 70F59746",
        ),
    ];
    for (group, i, gi, gr, girx) in cases {
        let ke = KeyExchange::generate(group, &mut FixedRandom::new(hex(i))).unwrap();
        assert_eq!(ke.public_key(), hex(gi), "{group}");
        assert_eq!(ke.public_key().len(), group.public_len());
        let shared = ke.agree(&hex(gr)).unwrap();
        assert_eq!(shared.expose(), hex(girx), "{group}");
        assert_eq!(shared.len(), group.shared_secret_len());
    }
}

/// RFC 5903 has no P-521 example; this is the 521-bit random ECP group test data of
/// RFC 5114 Appendix A, in RFC 5903 §7 wire format. The shared secret starts with a
/// zero octet, which must be kept (fixed-length x coordinate).
#[test]
fn rfc5114_ecp521_vector() {
    let i = hex(
        "0113f82da825735e3d97276683b2b74277bad27335ea71664af2430cc4f33459
         b9669ee78b3ffb9b8683015d344dcbfef6fb9af4c6c470be254516cd3c1a1fb4 7362",
    );
    let gi = hex(
        "01ebb34dd75721abf8adc9dbed17889cbb9765d90a7c60f2cef007bb0f2b26e1
         4881fd4442e689d61cb2dd046ee30e3ffd20f9a45bbdf6413d583a2dbf59924f
         d35c00f6b632d194c0388e22d8437e558c552ae195adfd153f92d74908351b2f
         8c4eda94edb0916d1b53c020b5eecaed1a5fc38a233e4830587bb2ee3489b3b4 2a5a86a4",
    );
    let gr = hex(
        "010ebfafc6e85e08d24bfffcc1a4511db0e634beeb1b6dec8c5939ae44766201
         af6200430ba97c8ac6a0e9f08b33ce7e9feeb5ba4ee5e0d81510c24295b8a08d
         023500a4a6ec300df9e257b0372b5e7abfef093436719a77887ebb0b18cf8099
         b9f4212b6e30a1419c18e029d36863cc9d448f4dba4d2a0e60711be572915fbd 4fef2695",
    );
    let shared = hex(
        "00cdea89621cfa46b132f9e4cfe2261cde2d4368eb5656634c7cc98c7a00cde5
         4ed1866a0dd3e6126c9d2f845daff82ceb1da08f5d87521bb0ebeca77911169c 20cc",
    );
    let ke = KeyExchange::generate(DhGroup::Ecp521, &mut FixedRandom::new(i)).unwrap();
    assert_eq!(ke.public_key(), gi);
    assert_eq!(ke.agree(&gr).unwrap().expose(), shared);
}

/// RFC 7748 §6.1: Alice's and Bob's keys and the shared K.
#[test]
fn rfc7748_x25519_vector() {
    let alice_private = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    let alice_public = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    let bob_private = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    let bob_public = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    let k = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    let alice =
        KeyExchange::generate(DhGroup::Curve25519, &mut FixedRandom::new(alice_private)).unwrap();
    let bob =
        KeyExchange::generate(DhGroup::Curve25519, &mut FixedRandom::new(bob_private)).unwrap();
    assert_eq!(alice.public_key(), alice_public);
    assert_eq!(bob.public_key(), bob_public);
    assert_eq!(alice.agree(&bob_public).unwrap().expose(), k);
    assert_eq!(bob.agree(&alice_public).unwrap().expose(), k);
}

#[test]
fn every_group_agrees_and_is_deterministic() {
    for group in DhGroup::ALL {
        let a = KeyExchange::generate(group, &mut DeterministicRandom::from_u64(1)).unwrap();
        let b = KeyExchange::generate(group, &mut DeterministicRandom::from_u64(2)).unwrap();
        let a_again = KeyExchange::generate(group, &mut DeterministicRandom::from_u64(1)).unwrap();
        assert_eq!(
            a.public_key(),
            a_again.public_key(),
            "{group}: same seed, same key"
        );
        assert_ne!(a.public_key(), b.public_key());
        assert_eq!(a.public_key().len(), group.public_len(), "{group}");
        let s1 = a.agree(b.public_key()).unwrap();
        let s2 = b.agree(a.public_key()).unwrap();
        assert_eq!(s1, s2, "{group}");
        assert_eq!(s1.len(), group.shared_secret_len(), "{group}");
        assert_eq!(DhGroup::from_iana_id(group.iana_id()), Some(group));
        assert!(format!("{a:?}").contains("group"));
    }
    assert_eq!(DhGroup::from_iana_id(2), None);
    assert_eq!(
        DhGroup::ALL.map(DhGroup::iana_id),
        [31, 21, 20, 19, 16, 15, 14]
    );
}

#[test]
fn wrong_lengths_are_rejected_for_every_group() {
    let mut rng = DeterministicRandom::from_u64(3);
    for group in DhGroup::ALL {
        let ke = KeyExchange::generate(group, &mut rng).unwrap();
        let peer = KeyExchange::generate(group, &mut rng).unwrap();
        let mut long = peer.public_key().to_vec();
        long.insert(0, 0);
        for bad in [Vec::new(), peer.public_key()[1..].to_vec(), long] {
            assert!(
                matches!(
                    ke.agree(&bad),
                    Err(CryptoError::InvalidPeerPublicKey { group: g, .. }) if g == group
                ),
                "{group} len {}",
                bad.len()
            );
        }
    }
}

/// MODP: 0, 1 and values >= p are outside 2..=p-2 (p - 1 and p are tested next to the
/// primes, which are private).
#[test]
fn modp_out_of_range_values_are_rejected() {
    let mut rng = DeterministicRandom::from_u64(4);
    for group in [DhGroup::Modp2048, DhGroup::Modp3072, DhGroup::Modp4096] {
        let ke = KeyExchange::generate(group, &mut rng).unwrap();
        let n = group.public_len();
        let mut one = vec![0u8; n];
        one[n - 1] = 1;
        let mut two = vec![0u8; n];
        two[n - 1] = 2;
        for bad in [vec![0u8; n], one, vec![0xff; n]] {
            let err = ke.agree(&bad).unwrap_err();
            assert!(
                matches!(err, CryptoError::InvalidPeerPublicKey { .. }),
                "{group}"
            );
            assert!(err.to_string().contains("range"), "{err}");
        }
        // 2 is the generator: in range.
        assert!(ke.agree(&two).is_ok());
    }
}

#[test]
fn ecp_points_off_the_curve_are_rejected() {
    let mut rng = DeterministicRandom::from_u64(5);
    for group in [DhGroup::Ecp256, DhGroup::Ecp384, DhGroup::Ecp521] {
        let ke = KeyExchange::generate(group, &mut rng).unwrap();
        let peer = KeyExchange::generate(group, &mut rng).unwrap();
        let mut off = peer.public_key().to_vec();
        let last = off.len() - 1;
        off[last] ^= 1; // y no longer matches x
        for bad in [
            off,
            vec![0xaa; group.public_len()],
            vec![0; group.public_len()],
        ] {
            assert!(
                matches!(
                    ke.agree(&bad),
                    Err(CryptoError::InvalidPeerPublicKey { .. })
                ),
                "{group}"
            );
        }
    }
}

/// Low-order Curve25519 points give an all-zero shared secret, which RFC 7748 §6.1
/// says to detect and RFC 8031 requires IKEv2 to reject.
#[test]
fn x25519_low_order_points_are_rejected() {
    let ke =
        KeyExchange::generate(DhGroup::Curve25519, &mut DeterministicRandom::from_u64(6)).unwrap();
    let mut one = [0u8; 32];
    one[0] = 1;
    // A point of order 8 (from the list of small-order points used against X25519).
    let order8 = hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
    for bad in [[0u8; 32].to_vec(), one.to_vec(), order8] {
        assert!(matches!(
            ke.agree(&bad),
            Err(CryptoError::InvalidPeerPublicKey {
                group: DhGroup::Curve25519,
                ..
            })
        ));
    }
}

#[test]
fn a_broken_rng_is_an_error_not_a_hang() {
    for group in DhGroup::ALL {
        let result = KeyExchange::generate(group, &mut FixedRandom::new(vec![0]));
        if group == DhGroup::Curve25519 {
            // X25519 clamps any 32 bytes into a valid scalar.
            assert!(result.is_ok());
        } else {
            assert!(
                matches!(result, Err(CryptoError::Backend { .. })),
                "{group}"
            );
        }
    }
}
