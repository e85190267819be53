//! The fake's check of an Agora app token (AccessToken2, `007…`), read the
//! way Agora's own parsers read it (AgoraIO/Tools `AccessToken2.Parse` and
//! `VerifySignature`): undo base64 and zlib, split the signature from the
//! signed bytes, read the App ID, times, salt and services, and sign the
//! bytes again with the App Certificate.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io::Read;

/// Why a token is refused: `Expired` maps to Agora's `unauthorized`
/// "expired", the rest to `auth_bad_access_token`.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Corrupt(&'static str),
    Expired,
}

/// Reads little-endian fields off the front of a byte slice.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Refusal> {
        if self.0.len() < n {
            return Err(Refusal::Corrupt("token ends early"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u16(&mut self) -> Result<u16, Refusal> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32, Refusal> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn string(&mut self) -> Result<&'a [u8], Refusal> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

/// Checks `token` for `app_id` signed with `certificate`, granting the Chat
/// service's app privilege (type 5, privilege 2) at `now` (Unix seconds).
pub fn check(token: &str, app_id: &str, certificate: &str, now: u64) -> Result<(), Refusal> {
    let packed = token
        .strip_prefix("007")
        .ok_or(Refusal::Corrupt("not version 007"))?;
    let packed = STANDARD
        .decode(packed)
        .map_err(|_| Refusal::Corrupt("not base64"))?;
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&packed[..])
        .read_to_end(&mut raw)
        .map_err(|_| Refusal::Corrupt("not zlib"))?;
    let mut f = Fields(&raw);
    let signature = f.string()?;
    let signed = f.0;
    if f.string()? != app_id.as_bytes() {
        return Err(Refusal::Corrupt("another App ID"));
    }
    let issued = f.u32()?;
    let lifetime = f.u32()?;
    let salt = f.u32()?;
    let by_time = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &issued.to_le_bytes()),
        certificate.as_bytes(),
    );
    let key = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &salt.to_le_bytes()),
        by_time.as_ref(),
    );
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, key.as_ref()),
        signed,
        signature,
    )
    .map_err(|_| Refusal::Corrupt("signature does not match the App Certificate"))?;
    let mut app_privilege = None;
    for _ in 0..f.u16()? {
        let kind = f.u16()?;
        let mut privileges = Vec::new();
        for _ in 0..f.u16()? {
            privileges.push((f.u16()?, f.u32()?));
        }
        match kind {
            // Chat: the privileges, then the user id (empty for the app).
            5 => {
                f.string()?;
                app_privilege = privileges.iter().find(|(p, _)| *p == 2).map(|(_, t)| *t);
            }
            _ => return Err(Refusal::Corrupt("a service other than Chat")),
        }
    }
    let privilege = app_privilege.ok_or(Refusal::Corrupt("no Chat app privilege"))?;
    let ends = u64::from(issued) + u64::from(lifetime.min(privilege));
    if now >= ends {
        return Err(Refusal::Expired);
    }
    Ok(())
}
