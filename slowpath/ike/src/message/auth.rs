//! The AUTH, CERT and CERTREQ payloads (RFC 7296 3.6 to 3.8) and RFC 7427 signature helpers.

use super::code::code_point;
use super::error::{EmitError, ParseError};
use super::reader::{fit_u8, Reader};

code_point! {
    /// Auth Method (3.8; IANA "IKEv2 Authentication Method").
    AuthMethod(u8) {
        /// RSA Digital Signature (PKCS #1 v1.5).
        RSA_SIG = 1,
        /// Shared Key Message Integrity Code (PSK).
        SHARED_KEY_MIC = 2,
        /// DSS Digital Signature.
        DSS_SIG = 3,
        /// RFC 4754.
        ECDSA_SHA256_P256 = 9,
        ECDSA_SHA384_P384 = 10,
        ECDSA_SHA512_P521 = 11,
        /// RFC 6467.
        GSPAM = 12,
        /// RFC 7619.
        NULL_AUTH = 13,
        /// RFC 7427: the AUTH data names its own signature algorithm.
        DIGITAL_SIGNATURE = 14,
    }
}

code_point! {
    /// Certificate Encoding (3.6).
    CertEncoding(u8) {
        PKCS7_X509 = 1,
        PGP = 2,
        DNS_SIGNED_KEY = 3,
        X509_SIGNATURE = 4,
        KERBEROS_TOKEN = 6,
        CRL = 7,
        ARL = 8,
        SPKI = 9,
        X509_ATTRIBUTE = 10,
        RAW_RSA_KEY = 11,
        HASH_URL_X509_CERT = 12,
        HASH_URL_X509_BUNDLE = 13,
        /// RFC 4806.
        OCSP_CONTENT = 14,
        /// RFC 7670.
        RAW_PUBLIC_KEY = 15,
    }
}

code_point! {
    /// Hash algorithm of SIGNATURE_HASH_ALGORITHMS (RFC 7427 4; IANA "IKEv2 Hash Algorithms").
    HashAlgorithm(u16) {
        SHA1 = 1,
        SHA2_256 = 2,
        SHA2_384 = 3,
        SHA2_512 = 4,
        /// RFC 8420 (EdDSA signs the data itself).
        IDENTITY = 5,
    }
}

pub(crate) fn parse_auth(body: &[u8]) -> Result<(AuthMethod, Vec<u8>), ParseError> {
    let mut r = Reader::new(body, "AUTH payload");
    let method = AuthMethod(r.u8()?);
    r.reserved(3)?;
    Ok((method, r.rest().to_vec()))
}

/// CERT and CERTREQ share their layout: the encoding, then the data.
pub(crate) fn parse_cert(body: &[u8]) -> Result<(CertEncoding, Vec<u8>), ParseError> {
    let mut r = Reader::new(body, "CERT payload");
    let encoding = CertEncoding(r.u8()?);
    Ok((encoding, r.rest().to_vec()))
}

/// The Notification Data of SIGNATURE_HASH_ALGORITHMS: a list of 16-bit identifiers.
pub fn parse_signature_hash_algorithms(data: &[u8]) -> Result<Vec<HashAlgorithm>, ParseError> {
    if !data.len().is_multiple_of(2) {
        return Err(ParseError::BadLength {
            what: "SIGNATURE_HASH_ALGORITHMS data",
        });
    }
    Ok(data
        .chunks_exact(2)
        .map(|c| HashAlgorithm(u16::from_be_bytes([c[0], c[1]])))
        .collect())
}

pub fn signature_hash_algorithms_data(algorithms: &[HashAlgorithm]) -> Vec<u8> {
    algorithms.iter().flat_map(|a| a.0.to_be_bytes()).collect()
}

/// Splits DIGITAL_SIGNATURE authentication data (RFC 7427 3) into the DER AlgorithmIdentifier
/// and the signature; the first octet is the identifier's length.
pub fn split_digital_signature(data: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    let mut r = Reader::new(data, "Digital Signature AUTH data");
    let n = r.u8()?;
    let alg = r.bytes(usize::from(n))?;
    Ok((alg, r.rest()))
}

/// The DIGITAL_SIGNATURE authentication data for an AlgorithmIdentifier and a signature.
pub fn digital_signature_data(
    algorithm_identifier: &[u8],
    signature: &[u8],
) -> Result<Vec<u8>, EmitError> {
    let mut out = vec![fit_u8(
        algorithm_identifier.len(),
        "AlgorithmIdentifier octets",
    )?];
    out.extend_from_slice(algorithm_identifier);
    out.extend_from_slice(signature);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::payload::{emit_payload_chain, parse_payload_chain, Payload};
    use crate::message::payload_type::PayloadType;

    #[test]
    fn round_trips() {
        let cases = [
            Payload::Auth {
                method: AuthMethod::SHARED_KEY_MIC,
                data: vec![0xaa; 32],
            },
            Payload::Auth {
                method: AuthMethod::DIGITAL_SIGNATURE,
                data: vec![],
            },
            Payload::Cert {
                encoding: CertEncoding::X509_SIGNATURE,
                data: vec![0x30, 0x82, 1, 2],
            },
            Payload::CertReq {
                encoding: CertEncoding::X509_SIGNATURE,
                data: vec![0x11; 40],
            },
            Payload::CertReq {
                encoding: CertEncoding(200),
                data: vec![],
            },
        ];
        for p in cases {
            let (first, bytes) = emit_payload_chain(std::slice::from_ref(&p)).unwrap();
            assert_eq!(parse_payload_chain(first, &bytes), Ok(vec![p]));
        }
        let (_, bytes) = emit_payload_chain(&[Payload::Auth {
            method: AuthMethod::RSA_SIG,
            data: vec![7],
        }])
        .unwrap();
        assert_eq!(bytes, [0, 0, 0, 9, 1, 0, 0, 0, 7]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_payload_chain(PayloadType::AUTH, &[0, 0, 0, 7, 1, 0, 0]),
            Err(ParseError::Truncated {
                what: "AUTH payload"
            })
        );
        assert_eq!(
            parse_payload_chain(PayloadType::CERT, &[0, 0, 0, 4]),
            Err(ParseError::Truncated {
                what: "CERT payload"
            })
        );
        assert_eq!(
            parse_payload_chain(PayloadType::CERTREQ, &[0, 0, 0, 4]),
            Err(ParseError::Truncated {
                what: "CERT payload"
            })
        );
    }

    #[test]
    fn rfc7427_helpers() {
        let algs = [
            HashAlgorithm::SHA2_256,
            HashAlgorithm::SHA2_384,
            HashAlgorithm(99),
        ];
        let data = signature_hash_algorithms_data(&algs);
        assert_eq!(data, [0, 2, 0, 3, 0, 99]);
        assert_eq!(parse_signature_hash_algorithms(&data), Ok(algs.to_vec()));
        assert!(parse_signature_hash_algorithms(&[0, 2, 0]).is_err());
        let d = digital_signature_data(&[0x30, 0x0d], &[1, 2, 3]).unwrap();
        assert_eq!(d, [2, 0x30, 0x0d, 1, 2, 3]);
        assert_eq!(
            split_digital_signature(&d),
            Ok((&[0x30u8, 0x0d][..], &[1u8, 2, 3][..]))
        );
        assert_eq!(
            split_digital_signature(&[5, 1]),
            Err(ParseError::Truncated {
                what: "Digital Signature AUTH data"
            })
        );
        assert!(split_digital_signature(&[]).is_err());
        assert!(digital_signature_data(&[0; 256], &[]).is_err());
    }
}
