//! TLS for the Bolt listener (`neo4j+s://`, or `neo4j+ssc://` with a self-signed certificate):
//! rustls with the `ring` provider, TLS 1.2 and 1.3, a certificate chain and key from PEM files.
//! The chain's validity is read too (by [`super::certificate`]), for the warnings of
//! a certificate expired, not yet valid or soon to expire; an X.509 v1 certificate is refused
//! by name.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use super::certificate::{self, Validity};

/// A certificate or key that could not be used, naming the file.
#[derive(Debug)]
pub struct TlsError {
    file: String,
    message: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for TlsError {}

/// An acceptor for the certificate chain in `cert` and the private key in `key` (PEM), and the
/// period in which every certificate of the chain is valid.
pub fn acceptor(cert: &Path, key: &Path) -> Result<(TlsAcceptor, Validity), TlsError> {
    let error = |path: &Path, message: String| TlsError {
        file: path.display().to_string(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| error(cert, format!("cannot read the certificate: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(cert, format!("not a PEM certificate chain: {e}")))?;
    let mut validity: Option<Validity> = None;
    for (i, der) in chain.iter().enumerate() {
        let which = if i == 0 {
            "the certificate".to_owned()
        } else {
            format!("certificate {} of the chain", i + 1)
        };
        let summary = certificate::summarize(der)
            .map_err(|e| error(cert, format!("{which} cannot be read: {e}")))?;
        if summary.version == 1 && i == 0 {
            return Err(error(
                cert,
                "the certificate is an X.509 v1 certificate, which TLS clients and rustls do \
                 not accept: issue a v3 certificate (with a subjectAltName)"
                    .into(),
            ));
        }
        validity = Some(validity.map_or(summary.validity, |v| v.within(summary.validity)));
    }
    let Some(validity) = validity else {
        return Err(error(cert, "no certificate in the file".into()));
    };
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| error(key, format!("no usable private key: {e}")))?;
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e: rustls::Error| error(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| error(key, format!("the key does not fit the certificate: {e}")))?;
    Ok((TlsAcceptor::from(Arc::new(config)), validity))
}
