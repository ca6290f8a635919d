//! TLS to PostgreSQL through rustls: the `ClientConfig` for each of libpq's `sslmode`s.
//!
//! - `prefer` and `require` encrypt without checking who answers (as libpq does): the
//!   certificate is accepted whatever it is, but the handshake's signatures are still checked
//!   against it, so the session key is bound to the certificate presented.
//! - `verify-ca` checks the certificate chain against the trusted authorities, not the name.
//! - `verify-full` checks the chain and that the certificate names the host connected to.
//!
//! The trusted authorities are the PEM file given (`sslrootcert`/`ca`), else Mozilla's list
//! (`webpki-roots`), which is what Node, and so parse-server, trusts by default.

use std::fmt;
use std::sync::Arc;

use reparse_core::{ParseError, ParseResult};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, unverified; plain otherwise.
    Prefer,
    /// TLS or no connection, unverified.
    Require,
    /// TLS with the certificate chain verified.
    VerifyCa,
    /// TLS with the chain and the host name verified.
    VerifyFull,
}

impl SslMode {
    /// Reads libpq's names (`allow` is `prefer`'s weaker sibling: accepted as `prefer`, which
    /// never does less).
    pub(crate) fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// What tokio-postgres is told: it knows whether TLS is wanted, rustls does the verifying.
    pub(crate) fn for_tokio_postgres(self) -> tokio_postgres::config::SslMode {
        match self {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

/// A client certificate chain and its key, for servers that authenticate clients by
/// certificate.
pub(crate) struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientIdentity({} certificates, key hidden)", self.chain.len())
    }
}

/// Certificates from PEM text; `source` names where they came from in errors.
pub(crate) fn certificates_from_pem(pem: &[u8], source: &str) -> ParseResult<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ParseError::internal(format!("{source}: not PEM certificates ({error})")))?;
    if certificates.is_empty() {
        return Err(ParseError::internal(format!("{source}: holds no PEM certificate")));
    }
    Ok(certificates)
}

impl ClientIdentity {
    /// A certificate chain and a private key (PKCS#8, PKCS#1 or SEC1), both PEM.
    pub(crate) fn from_pem(
        chain: &[u8],
        chain_source: &str,
        key: &[u8],
        key_source: &str,
    ) -> ParseResult<ClientIdentity> {
        let chain = certificates_from_pem(chain, chain_source)?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|error| {
            ParseError::internal(format!("{key_source}: not an unencrypted PEM private key ({error})"))
        })?;
        Ok(ClientIdentity { chain, key })
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The rustls configuration for `mode`.
pub(crate) fn client_config(
    mode: SslMode,
    roots: Option<&[CertificateDer<'static>]>,
    identity: Option<&ClientIdentity>,
) -> ParseResult<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| ParseError::internal(format!("TLS set-up: {error}")))?;
    let mut trusted = RootCertStore::empty();
    match roots {
        Some(roots) => {
            for certificate in roots {
                trusted.add(certificate.clone()).map_err(|error| {
                    ParseError::internal(format!("a trusted certificate authority is not usable: {error}"))
                })?;
            }
        }
        None => trusted.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => {
            Arc::new(UnverifiedCertificate { provider: provider.clone() })
        }
        SslMode::VerifyCa => Arc::new(ChainOnly { roots: Arc::new(trusted), provider: provider.clone() }),
        SslMode::VerifyFull => {
            WebPkiServerVerifier::builder_with_provider(Arc::new(trusted), provider.clone())
                .build()
                .map_err(|error| ParseError::internal(format!("TLS set-up: {error}")))?
        }
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    match identity {
        Some(identity) => builder
            .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(|error| ParseError::internal(format!("TLS client certificate: {error}"))),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// `prefer`/`require`: any certificate, with the handshake signed by its key.
#[derive(Debug)]
struct UnverifiedCertificate {
    provider: Arc<CryptoProvider>,
}

/// `verify-ca`: the chain up to a trusted authority, whatever name the certificate carries.
#[derive(Debug)]
struct ChainOnly {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

macro_rules! handshake_signatures_checked_with {
    ($provider:ident) => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            certificate: &CertificateDer<'_>,
            signature: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                certificate,
                signature,
                &self.$provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            certificate: &CertificateDer<'_>,
            signature: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                certificate,
                signature,
                &self.$provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.$provider.signature_verification_algorithms.supported_schemes()
        }
    };
}

impl ServerCertVerifier for UnverifiedCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures_checked_with!(provider);
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let certificate = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &certificate,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures_checked_with!(provider);
}
