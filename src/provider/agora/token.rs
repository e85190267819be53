//! Agora Chat app tokens built locally from the App ID and the App
//! Certificate: AccessToken2 (version `007`) with the Chat service's app
//! privilege, as Agora's token builders make them
//! (`ChatTokenBuilder.build_app_token`, `chatTokenBuilder.BuildChatAppToken`).
//!
//! Layout (all integers little-endian, strings as a u16 length and bytes):
//! the message is the App ID, the issue time, the lifetime in seconds and a
//! salt (u32 each), the number of services (u16), then each service: its
//! type (u16), its privileges (u16 count of u16 privilege / u32 lifetime
//! pairs, by privilege) and, for Chat, the user id (empty for an app
//! token). The signing key is HMAC-SHA256 keyed by the salt over
//! HMAC-SHA256 keyed by the issue time over the certificate; the signature
//! is HMAC-SHA256 of the message under that key. The token is `007` and
//! the standard base64 of the zlib-compressed signature string followed by
//! the message.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::ZlibEncoder;
use std::io::Write;

const VERSION: &str = "007";
/// The Chat service's type in AccessToken2.
const SERVICE_CHAT: u16 = 5;
/// The Chat service's privileges: a user's, and the app's (REST calls).
#[cfg(test)]
const PRIVILEGE_CHAT_USER: u16 = 1;
const PRIVILEGE_CHAT_APP: u16 = 2;

/// What one token grants, and when.
struct Grant<'a> {
    issued: u32,
    lifetime: u32,
    salt: u32,
    user: &'a str,
    privilege: u16,
}

/// Whether an App ID or App Certificate has the shape Agora's builders
/// accept (32 hexadecimal characters); they refuse to sign anything else.
pub fn well_formed(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A Chat app token for `app_id`, issued at `issued` (Unix seconds), valid
/// `lifetime` seconds, with a random salt.
pub fn chat_app_token(app_id: &str, certificate: &str, issued: u32, lifetime: u32) -> String {
    let grant = Grant {
        issued,
        lifetime,
        salt: fastrand::u32(1..99_999_999),
        user: "",
        privilege: PRIVILEGE_CHAT_APP,
    };
    build(app_id, certificate, &grant)
}

fn put_u16(out: &mut Vec<u8>, n: u16) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

/// A string as AccessToken2 packs it. Every string here is an App ID, a
/// user id or a 32-byte signature, far below the u16 length limit.
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_u16(out, u16::try_from(s.len()).unwrap_or(u16::MAX));
    out.extend_from_slice(&s[..s.len().min(usize::from(u16::MAX))]);
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

fn build(app_id: &str, certificate: &str, g: &Grant) -> String {
    let mut message = Vec::with_capacity(80);
    put_str(&mut message, app_id.as_bytes());
    put_u32(&mut message, g.issued);
    put_u32(&mut message, g.lifetime);
    put_u32(&mut message, g.salt);
    put_u16(&mut message, 1);
    put_u16(&mut message, SERVICE_CHAT);
    put_u16(&mut message, 1);
    put_u16(&mut message, g.privilege);
    put_u32(&mut message, g.lifetime);
    put_str(&mut message, g.user.as_bytes());

    let by_time = hmac_sha256(&g.issued.to_le_bytes(), certificate.as_bytes());
    let signing_key = hmac_sha256(&g.salt.to_le_bytes(), &by_time);
    let signature = hmac_sha256(&signing_key, &message);

    let mut content = Vec::with_capacity(message.len() + 34);
    put_str(&mut content, &signature);
    content.extend_from_slice(&message);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(&content);
    let compressed = z.finish().unwrap_or_default();
    format!("{VERSION}{}", STANDARD.encode(compressed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::ZlibDecoder;
    use std::io::Read;

    // Agora's published test vectors (AgoraIO/Tools, AccessToken2 tests of
    // the token builders): App ID, certificate, issue time 1111111, salt 1,
    // lifetime 600.
    const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
    const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
    const APP_TOKEN: &str = "007eJxTYNDNaz3snC8huEfHWdz6s98qltq4zqy9fl99Uh0FDvy6F6DAYGlu4OxobJqSamaQbGJiZmKalJSYapFoZGhqYGaYZGzs/kWAIYKJgYGRAYRZgZgJzGdgAACt8hhr";
    const USER_TOKEN: &str = "007eJxTYNAIsnbS3v/A5t2TC6feR15r+6cq8bqAvfaW+tk/Vzz+p6xTYLA0N3B2NDZNSTUzSDYxMTMxTUpKTLVINDI0NTAzTDI2dv8iwBDBxMDAyADCrEDMCOZzMRhZWBgZmxgamRsDAB+lHrg=";

    /// What a token holds once base64 and zlib are undone: the compressed
    /// bytes may differ between zlib implementations, the content may not.
    fn content(token: &str) -> Vec<u8> {
        let packed = STANDARD
            .decode(token.strip_prefix(VERSION).unwrap())
            .unwrap();
        let mut out = Vec::new();
        ZlibDecoder::new(&packed[..]).read_to_end(&mut out).unwrap();
        out
    }

    fn grant(user: &str, privilege: u16) -> Grant<'_> {
        Grant {
            issued: 1_111_111,
            lifetime: 600,
            salt: 1,
            user,
            privilege,
        }
    }

    #[test]
    fn the_app_token_matches_agoras_vector() {
        let ours = build(APP_ID, CERT, &grant("", PRIVILEGE_CHAT_APP));
        assert!(ours.starts_with("007eJ"), "{ours}");
        assert_eq!(content(&ours), content(APP_TOKEN));
    }

    #[test]
    fn the_user_token_matches_agoras_vector() {
        let ours = build(APP_ID, CERT, &grant("2882341273", PRIVILEGE_CHAT_USER));
        assert_eq!(content(&ours), content(USER_TOKEN));
    }

    #[test]
    fn another_certificate_signs_differently() {
        let other = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let ours = content(&build(APP_ID, other, &grant("", PRIVILEGE_CHAT_APP)));
        let theirs = content(APP_TOKEN);
        assert_ne!(ours[2..34], theirs[2..34], "the signature");
        assert_eq!(ours[34..], theirs[34..], "the message");
    }

    #[test]
    fn a_fresh_token_carries_its_times_and_a_salt() {
        let t = content(&chat_app_token(APP_ID, CERT, 1_700_000_000, 3600));
        // signature string (2 + 32), App ID (2 + 32), then issue time,
        // lifetime, salt.
        let at = |i: usize| u32::from_le_bytes(t[i..i + 4].try_into().unwrap());
        assert_eq!(at(68), 1_700_000_000);
        assert_eq!(at(72), 3600);
        assert!((1..99_999_999).contains(&at(76)));
    }

    #[test]
    fn only_32_hex_characters_are_well_formed() {
        assert!(well_formed(APP_ID));
        assert!(well_formed(CERT));
        assert!(!well_formed("Z70CA35de60c44645bbae8a215061b33"));
        assert!(!well_formed("abc"));
        assert!(!well_formed(""));
    }
}
