//! Ed25519 signatures over an issued report's manifest (certificate number, run, revision,
//! previous report and the SHA-256 of every file), so that anyone holding the laboratory's
//! public key can check that the files are the ones the signatory issued.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde_json::Value;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let text = text.trim();
    if text.len() != 2 * N || !text.is_ascii() {
        return Err(format!("expected {N} bytes as {} hex digits", 2 * N));
    }
    let mut out = [0u8; N];
    for (k, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * k..2 * k + 2], 16)
            .map_err(|_| format!("`{}` is not hex", &text[2 * k..2 * k + 2]))?;
    }
    Ok(out)
}

/// The signed message: the manifest without its signature, as canonical JSON (sorted keys).
pub fn message(manifest: &Value) -> Vec<u8> {
    let mut m = manifest.clone();
    if let Some(obj) = m.as_object_mut() {
        obj.remove("signature");
    }
    m.to_string().into_bytes()
}

/// A new key pair from 32 bytes of system randomness: (secret hex, public hex).
pub fn new_key() -> Result<(String, String), String> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| format!("cannot read system randomness (/dev/urandom): {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    Ok((hex(&seed), hex(key.verifying_key().as_bytes())))
}

/// Sign `manifest` with a secret key (hex): (signature hex, public key hex).
pub fn sign(manifest: &Value, secret_hex: &str) -> Result<(String, String), String> {
    let key = SigningKey::from_bytes(&unhex::<32>(secret_hex)?);
    let signature = key.sign(&message(manifest));
    Ok((
        hex(&signature.to_bytes()),
        hex(key.verifying_key().as_bytes()),
    ))
}

/// Check the manifest's signature with a public key (hex).
pub fn verify(manifest: &Value, signature_hex: &str, public_hex: &str) -> Result<(), String> {
    let key = VerifyingKey::from_bytes(&unhex::<32>(public_hex)?)
        .map_err(|e| format!("not an Ed25519 public key: {e}"))?;
    let signature = Signature::from_bytes(&unhex::<64>(signature_hex)?);
    key.verify(&message(manifest), &signature)
        .map_err(|_| "the signature does not match the manifest and key".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_the_manifest_and_the_key() {
        let (secret, public) = new_key().expect("key");
        let manifest = serde_json::json!({"number": "PVS-2026-0001", "files": {"a.json": "00"}});
        let (sig, pub_from_sign) = sign(&manifest, &secret).expect("sign");
        assert_eq!(pub_from_sign, public);
        verify(&manifest, &sig, &public).expect("verifies");
        let mut signed = manifest.clone();
        signed["signature"] = serde_json::json!({"value": sig});
        verify(&signed, &sig, &public).expect("the signature field is not signed");
        let mut edited = manifest.clone();
        edited["files"]["a.json"] = "01".into();
        assert!(verify(&edited, &sig, &public).is_err());
        let (_, other) = new_key().expect("key");
        assert!(verify(&manifest, &sig, &other).is_err());
        assert!(sign(&manifest, "zz").is_err());
    }
}
