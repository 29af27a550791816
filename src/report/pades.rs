//! The laboratory's document signature on a PDF certificate, as any PDF reader checks it:
//! ISO 32000-1:2008 §12.8 (a signature field, a `/Sig` dictionary whose `/ByteRange` covers
//! the whole file except the `/Contents` hex string) with a detached CMS SignedData
//! (RFC 5652) in the PAdES baseline B-B style (ETSI EN 319 142-1: `/SubFilter
//! /ETSI.CAdES.detached`; signed attributes content-type, message-digest and
//! signing-certificate-v2 (RFC 5035); signing time in the dictionary's `/M`, not in the CMS),
//! signed with ECDSA P-256 / SHA-256 (FIPS 186-4; RFC 5758 identifiers).
//!
//! The laboratory key is a PEM file holding a PKCS#8 private key and its X.509 certificate:
//! made here (self-signed; a reader then shows "signature valid, signer not trusted" until the
//! customer trusts the laboratory's certificate) or imported from a CA. The signature is added
//! as an incremental update, so the signed bytes are exactly the certificate krilla wrote.

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

use super::der::{self, Element, bits, children, ctx, oid, read, seq, set, tag, tlv, uint};
use crate::model::Date;

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_DATA: &str = "1.2.840.113549.1.7.1";
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";

/// Bytes reserved for the CMS signature in the PDF (hex: twice as many characters).
const RESERVED: usize = 8192;

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).to_vec()
}

/// A laboratory document-signing key with its certificate.
pub struct LabKey {
    key: SigningKey,
    /// The X.509 certificate (DER).
    pub certificate: Vec<u8>,
}

/// The subject of a self-signed laboratory certificate.
pub struct Subject<'a> {
    /// Common name ("Provincial Institute of Metrology document signing").
    pub common_name: &'a str,
    /// Organisation.
    pub organisation: &'a str,
    /// ISO 3166-1 country code (two capital letters) or empty.
    pub country: &'a str,
}

fn name(subject: &Subject) -> Vec<u8> {
    let rdn = |o: &str, t: u8, v: &str| set(&[seq(&[oid(o), tlv(t, v.as_bytes())])]);
    let mut parts = Vec::new();
    if subject.country.len() == 2 {
        parts.push(rdn("2.5.4.6", tag::PRINTABLE, subject.country));
    }
    parts.push(rdn("2.5.4.10", tag::UTF8, subject.organisation));
    parts.push(rdn("2.5.4.3", tag::UTF8, subject.common_name));
    seq(&parts)
}

/// X.509 time: UTCTime before 2050, GeneralizedTime after (RFC 5280 4.1.2.5).
fn time(date: Date) -> Vec<u8> {
    if date.year < 2050 {
        let t = format!(
            "{:02}{:02}{:02}000000Z",
            date.year % 100,
            date.month,
            date.day
        );
        tlv(tag::UTC_TIME, t.as_bytes())
    } else {
        let t = format!("{:04}{:02}{:02}000000Z", date.year, date.month, date.day);
        tlv(tag::GENERALIZED_TIME, t.as_bytes())
    }
}

fn algorithm(o: &str) -> Vec<u8> {
    seq(&[oid(o)])
}

fn public_key_info(key: &VerifyingKey) -> Vec<u8> {
    let point = key.to_encoded_point(false);
    seq(&[
        seq(&[oid(OID_EC_PUBLIC_KEY), oid(OID_P256)]),
        bits(point.as_bytes()),
    ])
}

fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    use std::io::Read;
    let mut out = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut out))
        .map_err(|e| format!("cannot read system randomness (/dev/urandom): {e}"))?;
    Ok(out)
}

impl std::fmt::Debug for LabKey {
    /// The signer, never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LabKey({})", self.signer())
    }
}

impl LabKey {
    /// A new P-256 key with a self-signed certificate valid from `from` for `years` years
    /// (key usage: digital signature, non-repudiation).
    pub fn generate(subject: &Subject, from: Date, years: i32) -> Result<LabKey, String> {
        let key = loop {
            // A random scalar is valid unless it is 0 or ≥ n (probability ~2⁻³²).
            if let Ok(k) = SigningKey::from_slice(&random_bytes::<32>()?) {
                break k;
            }
        };
        let serial = random_bytes::<16>()?;
        let until = Date {
            year: from.year + years,
            ..from
        };
        let issuer = name(subject);
        let key_usage = tlv(tag::OCTET_STRING, &tlv(tag::BIT_STRING, &[0x06, 0xc0]));
        let extensions = ctx(
            3,
            &seq(&[
                seq(&[oid("2.5.29.15"), tlv(tag::BOOLEAN, &[0xff]), key_usage]),
                seq(&[oid("2.5.29.19"), tlv(tag::OCTET_STRING, &seq(&[]))]),
            ]),
        );
        let tbs = seq(&[
            ctx(0, &uint(&[2])),
            uint(&serial),
            algorithm(OID_ECDSA_SHA256),
            issuer.clone(),
            seq(&[time(from), time(until)]),
            issuer,
            public_key_info(key.verifying_key()),
            extensions,
        ]);
        let signature: Signature = key
            .sign_prehash(&sha256(&tbs))
            .map_err(|e| format!("signing the certificate: {e}"))?;
        let certificate = seq(&[
            tbs,
            algorithm(OID_ECDSA_SHA256),
            bits(signature.to_der().as_bytes()),
        ]);
        Ok(LabKey { key, certificate })
    }

    /// The key file: the PKCS#8 private key and the certificate, as PEM.
    pub fn to_pem(&self) -> Result<String, String> {
        let private = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| format!("encoding the key: {e}"))?;
        Ok(format!(
            "{}{}",
            private.as_str(),
            der::pem("CERTIFICATE", &self.certificate)
        ))
    }

    /// Read a key file (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY", and a "CERTIFICATE"
    /// block whose public key must be the key's).
    pub fn from_pem(text: &str) -> Result<LabKey, String> {
        let key = if let Some(der) = der::pem_block(text, "PRIVATE KEY") {
            SigningKey::from_pkcs8_der(&der)
                .map_err(|e| format!("the PRIVATE KEY is not a P-256 key in PKCS#8: {e}"))?
        } else if let Some(der) = der::pem_block(text, "EC PRIVATE KEY") {
            let secret = p256::SecretKey::from_sec1_der(&der)
                .map_err(|e| format!("the EC PRIVATE KEY is not a P-256 key: {e}"))?;
            SigningKey::from(secret)
        } else {
            return Err("no PRIVATE KEY or EC PRIVATE KEY block (PEM)".into());
        };
        let certificate =
            der::pem_block(text, "CERTIFICATE").ok_or("no CERTIFICATE block (PEM)")?;
        let cert = Cert::parse(&certificate)?;
        if cert.public_key()? != *key.verifying_key() {
            return Err("the certificate is not the key's: its public key differs".into());
        }
        Ok(LabKey { key, certificate })
    }

    /// The certificate's subject common name.
    pub fn signer(&self) -> String {
        Cert::parse(&self.certificate)
            .ok()
            .and_then(|c| c.common_name())
            .unwrap_or_default()
    }
}

/// The parts of an X.509 certificate the signature needs.
struct Cert<'a> {
    serial: Element<'a>,
    issuer: Element<'a>,
    subject: Element<'a>,
    spki: Element<'a>,
}

impl<'a> Cert<'a> {
    fn parse(der_bytes: &'a [u8]) -> Result<Cert<'a>, String> {
        let bad = |what: &str| format!("the certificate is not X.509: {what}");
        let (cert, _) = read(der_bytes)?;
        let parts = children(cert.content)?;
        let tbs = parts.first().ok_or_else(|| bad("empty"))?;
        let mut fields = children(tbs.content)?;
        if fields.first().is_some_and(|f| f.tag == 0xa0) {
            fields.remove(0);
        }
        if fields.len() < 6 {
            return Err(bad("too few fields"));
        }
        Ok(Cert {
            serial: fields[0],
            issuer: fields[2],
            subject: fields[4],
            spki: fields[5],
        })
    }

    fn public_key(&self) -> Result<VerifyingKey, String> {
        let parts = children(self.spki.content)?;
        let key = parts.get(1).ok_or("the certificate has no public key")?;
        let point = key.content.get(1..).ok_or("empty public key")?;
        VerifyingKey::from_sec1_bytes(point)
            .map_err(|_| "the certificate's key is not a P-256 key".to_string())
    }

    fn common_name(&self) -> Option<String> {
        for rdn in children(self.subject.content).ok()? {
            for atv in children(rdn.content).ok()? {
                let kv = children(atv.content).ok()?;
                if kv.first()?.raw == oid("2.5.4.3").as_slice() {
                    return String::from_utf8(kv.get(1)?.content.to_vec()).ok();
                }
            }
        }
        None
    }
}

/// The signed attributes (RFC 5652 5.3) over a document digest: content type, message digest,
/// signing-certificate-v2 (RFC 5035: SHA-256 of the signer's certificate).
fn signed_attributes(digest: &[u8], certificate: &[u8]) -> Vec<Vec<u8>> {
    vec![
        seq(&[oid(OID_CONTENT_TYPE), set(&[oid(OID_DATA)])]),
        seq(&[
            oid(OID_MESSAGE_DIGEST),
            set(&[tlv(tag::OCTET_STRING, digest)]),
        ]),
        seq(&[
            oid(OID_SIGNING_CERTIFICATE_V2),
            set(&[seq(&[seq(&[seq(&[tlv(
                tag::OCTET_STRING,
                &sha256(certificate),
            )])])])]),
        ]),
    ]
}

/// A detached CMS SignedData over `content` (DER).
fn cms(key: &LabKey, content: &[u8]) -> Result<Vec<u8>, String> {
    let cert = Cert::parse(&key.certificate)?;
    let attributes = signed_attributes(&sha256(content), &key.certificate);
    // The signature is over the DER of the attributes as a SET (RFC 5652 5.4).
    let to_sign = set(&attributes);
    let signature: Signature = key
        .key
        .sign_prehash(&sha256(&to_sign))
        .map_err(|e| format!("signing: {e}"))?;
    let mut implicit = to_sign.clone();
    implicit[0] = 0xa0;
    let signer_info = seq(&[
        uint(&[1]),
        seq(&[cert.issuer.raw.to_vec(), cert.serial.raw.to_vec()]),
        algorithm(OID_SHA256),
        implicit,
        algorithm(OID_ECDSA_SHA256),
        tlv(tag::OCTET_STRING, signature.to_der().as_bytes()),
    ]);
    let signed_data = seq(&[
        uint(&[1]),
        set(&[algorithm(OID_SHA256)]),
        seq(&[oid(OID_DATA)]),
        ctx(0, &key.certificate),
        set(&[signer_info]),
    ]);
    Ok(seq(&[oid(OID_SIGNED_DATA), ctx(0, &signed_data)]))
}

/// Find `needle` in `hay` from `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Find the last `needle` in `hay`.
fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// The text of object `n` (between `n 0 obj` and `endobj`) in the PDF.
fn object(pdf: &[u8], n: u32) -> Option<&[u8]> {
    let header = format!("\n{n} 0 obj");
    let start = rfind(pdf, header.as_bytes())? + header.len();
    let end = find(pdf, b"endobj", start)?;
    Some(&pdf[start..end])
}

/// The integer after `key` (e.g. `/Root 12 0 R` → 12) in `text`.
fn number_after(text: &[u8], key: &[u8]) -> Option<u32> {
    let at = rfind(text, key)? + key.len();
    let digits: String = text[at..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|b| char::from(*b))
        .collect();
    digits.parse().ok()
}

/// Sign a PDF written by krilla: an incremental update adding a signature field on page 1,
/// the `/AcroForm`, and the `/Sig` dictionary with the CMS over the whole file. `when`: the
/// signing time [s since epoch].
pub fn sign_pdf(pdf: &[u8], key: &LabKey, reason: &str, when: f64) -> Result<Vec<u8>, String> {
    let bad = |what: &str| format!("cannot sign this PDF: {what}");
    let trailer_at = rfind(pdf, b"trailer").ok_or_else(|| bad("no trailer"))?;
    let trailer = &pdf[trailer_at..];
    let root = number_after(trailer, b"/Root").ok_or_else(|| bad("no /Root"))?;
    let size = number_after(trailer, b"/Size").ok_or_else(|| bad("no /Size"))?;
    let prev = number_after(pdf, b"startxref").ok_or_else(|| bad("no startxref"))?;
    let catalog = object(pdf, root).ok_or_else(|| bad("no catalog"))?;
    let pages = number_after(catalog, b"/Pages").ok_or_else(|| bad("no /Pages"))?;
    let pages_obj = object(pdf, pages).ok_or_else(|| bad("no page tree"))?;
    let first_page = number_after(
        &pages_obj[find(pages_obj, b"/Kids", 0).ok_or_else(|| bad("no /Kids"))?..],
        b"[",
    )
    .ok_or_else(|| bad("no first page"))?;
    let page = object(pdf, first_page).ok_or_else(|| bad("no page object"))?;
    if find(catalog, b"/AcroForm", 0).is_some() || find(page, b"/Annots", 0).is_some() {
        return Err(bad("it already has a form or annotations"));
    }
    let (sig, field) = (size, size + 1);
    // Insert before the dictionary's final `>>`.
    let extend = |dict: &[u8], extra: &str| -> Option<Vec<u8>> {
        let trimmed = dict.trim_ascii_end();
        let close = rfind(trimmed, b">>")?;
        let mut out = trimmed[..close].to_vec();
        out.extend_from_slice(extra.as_bytes());
        out.extend_from_slice(b">>");
        Some(out)
    };
    let catalog2 = extend(
        catalog,
        &format!("/AcroForm<</Fields[{field} 0 R]/SigFlags 3>>"),
    )
    .ok_or_else(|| bad("catalog is not a dictionary"))?;
    let page2 = extend(page, &format!("/Annots[{field} 0 R]"))
        .ok_or_else(|| bad("page is not a dictionary"))?;
    let d = Date::from_unix_seconds(when);
    let secs = when.rem_euclid(86_400.0) as u32;
    let m = format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
        d.year,
        d.month,
        d.day,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    let pdf_string = |s: &str| -> String {
        // ASCII only in a literal string; anything else as UTF-16BE hex.
        if s.chars()
            .all(|c| c.is_ascii() && c != '(' && c != ')' && c != '\\')
        {
            format!("({s})")
        } else {
            let mut hex = String::from("<FEFF");
            for u in s.encode_utf16() {
                hex.push_str(&format!("{u:04X}"));
            }
            hex.push('>');
            hex
        }
    };
    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets: Vec<(u32, usize)> = Vec::new();
    offsets.push((root, out.len()));
    out.extend(format!("{root} 0 obj\n").as_bytes());
    out.extend(&catalog2);
    out.extend(b"\nendobj\n");
    offsets.push((first_page, out.len()));
    out.extend(format!("{first_page} 0 obj\n").as_bytes());
    out.extend(&page2);
    out.extend(b"\nendobj\n");
    offsets.push((field, out.len()));
    out.extend(
        format!(
            "{field} 0 obj\n<</Type/Annot/Subtype/Widget/FT/Sig/F 132/Rect[0 0 0 0]/T(laboratory signature)/V {sig} 0 R/P {first_page} 0 R>>\nendobj\n"
        )
        .as_bytes(),
    );
    offsets.push((sig, out.len()));
    out.extend(
        format!(
            "{sig} 0 obj\n<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/Name {}/Reason {}/M({m})/ByteRange[0 ",
            pdf_string(&key.signer()),
            pdf_string(reason)
        )
        .as_bytes(),
    );
    // Fixed-width placeholders, filled in once the offsets are known.
    let range_at = out.len();
    out.extend(format!("{:>10} {:>10} {:>10}]/Contents<", 0, 0, 0).as_bytes());
    let contents_start = out.len() - 1;
    out.extend(std::iter::repeat_n(b'0', 2 * RESERVED));
    out.push(b'>');
    let contents_end = out.len();
    out.extend(b">>\nendobj\n");
    let xref_at = out.len();
    offsets.sort();
    out.extend(b"xref\n");
    for (n, at) in &offsets {
        out.extend(format!("{n} 1\n{at:010} 00000 n\r\n").as_bytes());
    }
    let id = find(trailer, b"/ID", 0)
        .and_then(|i| {
            let end = find(trailer, b"]", i)?;
            Some(String::from_utf8_lossy(&trailer[i..=end]).to_string())
        })
        .unwrap_or_default();
    let info = number_after(trailer, b"/Info")
        .map(|n| format!("/Info {n} 0 R"))
        .unwrap_or_default();
    out.extend(
        format!(
            "trailer\n<</Size {}/Root {root} 0 R{info}{id}/Prev {prev}>>\nstartxref\n{xref_at}\n%%EOF\n",
            size + 2
        )
        .as_bytes(),
    );
    let total = out.len();
    let range = format!(
        "{:>10} {:>10} {:>10}",
        contents_start,
        contents_end,
        total - contents_end
    );
    out[range_at..range_at + range.len()].copy_from_slice(range.as_bytes());
    let mut signed = out[..contents_start].to_vec();
    signed.extend_from_slice(&out[contents_end..]);
    let cms = cms(key, &signed)?;
    if cms.len() > RESERVED {
        return Err(bad(
            "the signature is larger than the space reserved for it",
        ));
    }
    let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
    out[contents_start + 1..contents_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(out)
}

/// What checking a signed PDF found.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfSignature {
    /// The signer's common name.
    pub signer: String,
    /// The signed ranges cover the whole file but the signature itself.
    pub covers_whole_file: bool,
    /// The certificate (DER), to compare with the laboratory's.
    pub certificate: Vec<u8>,
}

/// Check the last signature of a PDF: byte ranges, message digest, ECDSA signature over the
/// signed attributes with the embedded certificate's key. Err says what does not hold.
pub fn verify_pdf(pdf: &[u8]) -> Result<PdfSignature, String> {
    let at = rfind(pdf, b"/ByteRange[").ok_or("the PDF carries no signature (/ByteRange)")?;
    let close = find(pdf, b"]", at).ok_or("bad /ByteRange")?;
    let range: Vec<usize> = String::from_utf8_lossy(&pdf[at + 11..close])
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let [a, b, c, d] = range[..] else {
        return Err("bad /ByteRange".into());
    };
    if a != 0 || b > c || c + d > pdf.len() {
        return Err("the /ByteRange lies outside the file".into());
    }
    let covers_whole_file = c + d == pdf.len();
    let hex = pdf.get(b + 1..c - 1).ok_or("bad /Contents")?;
    let bytes: Vec<u8> = hex
        .chunks(2)
        .map(|h| u8::from_str_radix(std::str::from_utf8(h).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| "the /Contents is not hex".to_string())?;
    let (content_info, _) = read(&bytes)?;
    let ci = children(content_info.content)?;
    let signed_data = ci
        .get(1)
        .and_then(|e| children(e.content).ok())
        .and_then(|v| v.first().copied())
        .ok_or("the signature is not CMS SignedData")?;
    let sd = children(signed_data.content)?;
    let certificate = sd
        .iter()
        .find(|e| e.tag == 0xa0)
        .map(|e| e.content.to_vec())
        .ok_or("the signature carries no certificate")?;
    let signer_infos = sd.last().ok_or("no signer")?;
    let si = children(signer_infos.content)?
        .first()
        .copied()
        .ok_or("no signer")?;
    let fields = children(si.content)?;
    let attrs = fields
        .iter()
        .find(|e| e.tag == 0xa0)
        .ok_or("no signed attributes")?;
    let signature = fields.last().ok_or("no signature value")?;
    let mut signed = pdf[a..b].to_vec();
    signed.extend_from_slice(&pdf[c..c + d]);
    let digest = sha256(&signed);
    let expected = tlv(tag::OCTET_STRING, &digest);
    let mut found = false;
    for attr in children(attrs.content)? {
        let kv = children(attr.content)?;
        if kv.first().map(|e| e.raw) == Some(oid(OID_MESSAGE_DIGEST).as_slice()) {
            found = kv.get(1).is_some_and(|s| s.content == expected.as_slice());
        }
    }
    if !found {
        return Err("the document was changed after it was signed (message digest differs)".into());
    }
    let cert = Cert::parse(&certificate)?;
    let key = cert.public_key()?;
    let mut as_set = attrs.raw.to_vec();
    as_set[0] = tag::SET;
    let sig = Signature::from_der(signature.content)
        .map_err(|_| "the signature value is not ECDSA".to_string())?;
    key.verify_prehash(&sha256(&as_set), &sig)
        .map_err(|_| "the signature does not verify with the certificate's key".to_string())?;
    Ok(PdfSignature {
        signer: cert.common_name().unwrap_or_default(),
        covers_whole_file,
        certificate,
    })
}

/// The embedded file (stored uncompressed) of a PDF written by [`super::pdf`].
pub fn embedded_file(pdf: &[u8]) -> Option<&[u8]> {
    let at = find(pdf, b"/Type/EmbeddedFile", 0)?;
    let obj_start = rfind(&pdf[..at], b" 0 obj")?;
    let stream = find(pdf, b"stream", obj_start)?;
    let dict = &pdf[obj_start..stream];
    let len = number_after(dict, b"/Length")? as usize;
    let mut start = stream + 6;
    if pdf.get(start) == Some(&b'\r') {
        start += 1;
    }
    if pdf.get(start) == Some(&b'\n') {
        start += 1;
    }
    pdf.get(start..start + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LabKey {
        LabKey::generate(
            &Subject {
                common_name: "Test laboratory document signing",
                organisation: "Test laboratory",
                country: "CN",
            },
            Date {
                year: 2026,
                month: 12,
                day: 1,
            },
            3,
        )
        .expect("key")
    }

    #[test]
    fn a_key_survives_its_pem_file_and_its_certificate_is_its_own() {
        let k = key();
        let pem = k.to_pem().expect("pem");
        let back = LabKey::from_pem(&pem).expect("reads back");
        assert_eq!(back.certificate, k.certificate);
        assert_eq!(back.signer(), "Test laboratory document signing");
        let other = key();
        let mixed = format!(
            "{}{}",
            &pem[..pem.find("-----BEGIN CERTIFICATE").expect("cert")],
            der::pem("CERTIFICATE", &other.certificate)
        );
        assert!(
            LabKey::from_pem(&mixed)
                .unwrap_err()
                .contains("not the key's")
        );
    }

    #[test]
    fn a_signed_minimal_pdf_verifies_and_a_changed_byte_is_found() {
        let pdf = b"%PDF-1.7\n1 0 obj\n<</Type/Pages/Kids[2 0 R]/Count 1>>\nendobj\n2 0 obj\n<</Type/Page/Parent 1 0 R/MediaBox[0 0 10 10]>>\nendobj\n3 0 obj\n<</Type/Catalog/Pages 1 0 R>>\nendobj\nxref\n0 4\n0000000000 65535 f\r\n0000000009 00000 n\r\n0000000062 00000 n\r\n0000000127 00000 n\r\ntrailer\n<</Size 4/Root 3 0 R>>\nstartxref\n170\n%%EOF\n";
        let signed = sign_pdf(pdf, &key(), "test", 1.7e9).expect("signs");
        let v = verify_pdf(&signed).expect("verifies");
        assert!(v.covers_whole_file);
        assert_eq!(v.signer, "Test laboratory document signing");
        let mut changed = signed.clone();
        changed[20] ^= 1;
        assert!(verify_pdf(&changed).unwrap_err().contains("changed"));
    }
}
