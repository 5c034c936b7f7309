//! The lab's test PKI: which files exist, and making them once.
//!
//! Generating four RSA-4096 keys takes seconds, so the PKI is made once per process
//! (a `OnceLock`) and cached on disk under the target directory in a directory named
//! after [`PKI_VERSION`]; later runs reuse it. Bump the version when the contents change.
//! Each lab copies the files into its own directory, where tests and profiles point.

mod generate;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, anyhow};

use crate::config::ClientCert;
use crate::paths;

/// Names the cache directory; change it whenever the generated PKI changes.
pub const PKI_VERSION: &str = "pki-v1";

/// File names inside a PKI directory.
pub(crate) mod files {
    pub(crate) const CA_PEM: &str = "ca.pem";
    pub(crate) const CA_DER: &str = "ca.der";
    pub(crate) const CA_KEY: &str = "ca.key";
    pub(crate) const GATEWAY_PEM: &str = "gateway.pem";
    pub(crate) const GATEWAY_KEY: &str = "gateway.key";
    /// Stem of the ECDSA client's `.pem`, `.key` and `.p12`.
    pub(crate) const ECDSA_CLIENT: &str = "alice-ecdsa";
    /// Stem of the RSA client's files.
    pub(crate) const RSA_CLIENT: &str = "bob-rsa";
    /// Stem of the EAP-TLS client's files.
    pub(crate) const EAP_TLS_CLIENT: &str = "carol-eap-tls";
    pub(crate) const LONG_ROOT_PEM: &str = "long-root.pem";
    pub(crate) const LONG_ROOT_DER: &str = "long-root.der";
    pub(crate) const LONG_INT1_PEM: &str = "long-intermediate1.pem";
    pub(crate) const LONG_INT2_PEM: &str = "long-intermediate2.pem";
    pub(crate) const LONG_GATEWAY_PEM: &str = "long-gateway.pem";
    pub(crate) const LONG_GATEWAY_KEY: &str = "long-gateway.key";
    /// Marks a complete cache directory; written last.
    pub(crate) const COMPLETE: &str = "COMPLETE";
}

/// A directory holding the test PKI. All certificates and keys are PEM (keys PKCS#8) unless
/// the name says DER; PKCS#12 bundles use [`crate::credentials::P12_PASSWORD`].
#[derive(Clone, Debug)]
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The lab CA certificate (PEM), which issues the gateway and client certificates.
    pub fn ca_pem(&self) -> PathBuf {
        self.file(files::CA_PEM)
    }

    /// The lab CA certificate (DER).
    pub fn ca_der(&self) -> PathBuf {
        self.file(files::CA_DER)
    }

    /// The gateway certificate (ECDSA P-256) for `vpn.corp.example`.
    pub fn gateway_cert(&self) -> PathBuf {
        self.file(files::GATEWAY_PEM)
    }

    /// The gateway's private key.
    pub fn gateway_key(&self) -> PathBuf {
        self.file(files::GATEWAY_KEY)
    }

    fn client_stem(which: ClientCert) -> &'static str {
        match which {
            ClientCert::Ecdsa => files::ECDSA_CLIENT,
            ClientCert::Rsa => files::RSA_CLIENT,
        }
    }

    /// A client certificate (PEM).
    pub fn client_cert(&self, which: ClientCert) -> PathBuf {
        self.file(&format!("{}.pem", Self::client_stem(which)))
    }

    /// A client's private key (PEM, PKCS#8).
    pub fn client_key(&self, which: ClientCert) -> PathBuf {
        self.file(&format!("{}.key", Self::client_stem(which)))
    }

    /// A client's PKCS#12 bundle: key, certificate and the lab CA.
    pub fn client_p12(&self, which: ClientCert) -> PathBuf {
        self.file(&format!("{}.p12", Self::client_stem(which)))
    }

    /// The EAP-TLS client certificate (PEM).
    pub fn eap_tls_cert(&self) -> PathBuf {
        self.file(&format!("{}.pem", files::EAP_TLS_CLIENT))
    }

    /// The EAP-TLS client's private key.
    pub fn eap_tls_key(&self) -> PathBuf {
        self.file(&format!("{}.key", files::EAP_TLS_CLIENT))
    }

    /// The EAP-TLS client's PKCS#12 bundle.
    pub fn eap_tls_p12(&self) -> PathBuf {
        self.file(&format!("{}.p12", files::EAP_TLS_CLIENT))
    }

    /// The RSA-4096 root of the long chain (PEM).
    pub fn long_root_pem(&self) -> PathBuf {
        self.file(files::LONG_ROOT_PEM)
    }

    /// The RSA-4096 root of the long chain (DER).
    pub fn long_root_der(&self) -> PathBuf {
        self.file(files::LONG_ROOT_DER)
    }

    /// The two intermediates of the long chain, root side first.
    pub fn long_intermediates(&self) -> [PathBuf; 2] {
        [
            self.file(files::LONG_INT1_PEM),
            self.file(files::LONG_INT2_PEM),
        ]
    }

    /// The RSA-4096 gateway certificate at the end of the long chain.
    pub fn long_gateway_cert(&self) -> PathBuf {
        self.file(files::LONG_GATEWAY_PEM)
    }

    /// The long-chain gateway's private key.
    pub fn long_gateway_key(&self) -> PathBuf {
        self.file(files::LONG_GATEWAY_KEY)
    }

    /// Copies every file into `dir` (created if needed) and returns the copy.
    pub(crate) fn copy_to(&self, dir: &Path) -> Result<Pki> {
        paths::create_private_dir(dir)?;
        for entry in
            fs::read_dir(&self.dir).with_context(|| format!("reading {}", self.dir.display()))?
        {
            let entry = entry.context("reading the PKI cache")?;
            let from = entry.path();
            if from.is_file() && entry.file_name() != files::COMPLETE {
                let to = dir.join(entry.file_name());
                fs::copy(&from, &to)
                    .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
            }
        }
        Ok(Pki {
            dir: dir.to_path_buf(),
        })
    }
}

/// The process-wide PKI, generated or loaded from the disk cache on first use.
pub fn shared() -> Result<Pki> {
    static PKI: OnceLock<Result<Pki, String>> = OnceLock::new();
    PKI.get_or_init(|| load_or_generate(&paths::cache_root()).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!("preparing the test PKI failed: {e}"))
}

/// Uses `<cache>/<PKI_VERSION>` if complete, otherwise generates it. Generation writes to a
/// private temporary directory that is renamed into place, so concurrent processes never
/// see half a PKI; the loser of a race discards its copy.
pub fn load_or_generate(cache: &Path) -> Result<Pki> {
    let dir = cache.join(PKI_VERSION);
    if dir.join(files::COMPLETE).is_file() {
        return Ok(Pki { dir });
    }
    static ATTEMPT: AtomicU32 = AtomicU32::new(0);
    fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    let tmp = cache.join(format!(
        ".{PKI_VERSION}.tmp-{}-{}",
        std::process::id(),
        ATTEMPT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&tmp);
    paths::create_private_dir(&tmp)?;
    let made = generate::generate(&tmp).and_then(|()| {
        fs::write(tmp.join(files::COMPLETE), PKI_VERSION).context("marking the PKI complete")
    });
    if let Err(e) = made {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e.context("generating the test PKI"));
    }
    if dir.exists() && !dir.join(files::COMPLETE).is_file() {
        // An incomplete directory from an interrupted older run.
        let _ = fs::remove_dir_all(&dir);
    }
    match fs::rename(&tmp, &dir) {
        Ok(()) => Ok(Pki { dir }),
        Err(_) if dir.join(files::COMPLETE).is_file() => {
            let _ = fs::remove_dir_all(&tmp);
            Ok(Pki { dir })
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(e).with_context(|| format!("moving the new PKI to {}", dir.display()))
        }
    }
}
