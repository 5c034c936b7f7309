//! IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" registries.
//!
//! Every registry is a newtype over its wire integer, generated from one table by
//! `registry!`: named constants, `Debug`/`Display` printing the IANA name or, for a value
//! the table does not know, the type name and the value in hex, and `From` both ways. A
//! value we do not know is kept as it is, so parsing and re-encoding never changes it.

macro_rules! registry {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($repr:ty);
        $( $(#[$cmeta:meta])* $konst:ident = $value:literal, )+
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($repr);

        #[allow(missing_docs)]
        impl $name {
            $( $(#[$cmeta])* pub const $konst: Self = Self($value); )+

            /// Every named value, in table order.
            pub const ALL: &'static [Self] = &[$(Self::$konst),+];

            /// Wraps a raw value, named or not.
            pub const fn new(value: $repr) -> Self {
                Self(value)
            }

            /// The raw value.
            pub const fn get(self) -> $repr {
                self.0
            }

            /// The IANA name, or `None` for a value this table does not name.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($konst)), )+
                    _ => None,
                }
            }

            /// Whether the value is one this table names.
            pub const fn is_known(self) -> bool {
                self.name().is_some()
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(
                        f,
                        "{}(0x{:0width$x})",
                        stringify!($name),
                        self.0,
                        width = 2 * ::std::mem::size_of::<$repr>()
                    ),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(self, f)
            }
        }

        impl From<$repr> for $name {
            fn from(value: $repr) -> Self {
                Self(value)
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

mod config;
mod ike;
mod notify;
mod transform;

pub use config::{ConfigAttributeType, ConfigType};
pub use ike::{
    AuthMethod, CertEncoding, EapCode, EapType, ExchangeType, HashAlgorithm, IdType, PayloadType,
    ProtocolId, TsType,
};
pub use notify::NotifyType;
pub use transform::{
    EncrId, EsnId, IntegId, KeMethod, PrfId, TransformAttributeType, TransformType,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_name_or_hex() {
        assert_eq!(format!("{:?}", ExchangeType::IKE_SA_INIT), "IKE_SA_INIT");
        assert_eq!(
            format!("{:?}", ExchangeType::new(200)),
            "ExchangeType(0xc8)"
        );
        assert_eq!(format!("{}", NotifyType::new(0x4e20)), "NotifyType(0x4e20)");
        assert_eq!(format!("{}", NotifyType::COOKIE), "COOKIE");
        assert_eq!(format!("{:?}", KeMethod::ML_KEM_768), "ML_KEM_768");
    }

    #[test]
    fn unknown_values_round_trip() {
        for raw in 0..=u8::MAX {
            assert_eq!(u8::from(PayloadType::from(raw)), raw);
            assert_eq!(PayloadType::new(raw).get(), raw);
        }
        for raw in [0u16, 1, 1024, 16383, 16384, 40959, 40960, u16::MAX] {
            assert_eq!(u16::from(NotifyType::from(raw)), raw);
        }
    }

    /// IANA values the rest of the stack relies on, checked against the registry by hand.
    #[test]
    fn spot_check_iana_values() {
        assert_eq!(EncrId::ENCR_AES_CBC.get(), 12);
        assert_eq!(EncrId::ENCR_AES_GCM_16.get(), 20);
        assert_eq!(EncrId::ENCR_CHACHA20_POLY1305.get(), 28);
        for (group, value) in [
            (KeMethod::MODP_2048, 14),
            (KeMethod::MODP_3072, 15),
            (KeMethod::MODP_4096, 16),
            (KeMethod::ECP_256, 19),
            (KeMethod::ECP_384, 20),
            (KeMethod::ECP_521, 21),
            (KeMethod::CURVE25519, 31),
            (KeMethod::CURVE448, 32),
            (KeMethod::ML_KEM_512, 35),
            (KeMethod::ML_KEM_768, 36),
            (KeMethod::ML_KEM_1024, 37),
        ] {
            assert_eq!(group.get(), value, "{group}");
        }
        assert_eq!(AuthMethod::DIGITAL_SIGNATURE.get(), 14);
        assert_eq!(ConfigAttributeType::INTERNAL_DNS_DOMAIN.get(), 25);
        assert_eq!(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED.get(), 16430);
        assert_eq!(NotifyType::SIGNATURE_HASH_ALGORITHMS.get(), 16431);
        assert_eq!(NotifyType::ADDITIONAL_KEY_EXCHANGE.get(), 16441);
        assert_eq!(PayloadType::SKF.get(), 53);
        assert_eq!(TransformType::ADDKE7.get(), 12);
    }

    #[test]
    fn notify_error_and_status_ranges() {
        for t in NotifyType::ALL {
            assert_eq!(t.is_error(), t.get() < 16384, "{t}");
        }
        assert!(NotifyType::INVALID_SYNTAX.is_error());
        assert!(!NotifyType::COOKIE.is_error());
    }

    #[test]
    fn tables_have_unique_names() {
        fn unique<T: Copy + std::fmt::Debug>(all: &[T]) {
            let mut names: Vec<String> = all.iter().map(|t| format!("{t:?}")).collect();
            names.sort();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len());
        }
        unique(ExchangeType::ALL);
        unique(PayloadType::ALL);
        unique(NotifyType::ALL);
        unique(EncrId::ALL);
        unique(ConfigAttributeType::ALL);
    }
}
