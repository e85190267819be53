//! Agora app tokens built from the App ID and App Certificate, against the
//! fake, which checks them as Agora's parser does: the shared conformance
//! suite with such tokens, then the profile rules around the certificate.

#[path = "fakes/agora.rs"]
mod agora_fake;
mod common;
mod conformance;

use agora_fake::{Fake, Options};
use conformance::Subject;
use roomwarden::config::Profile;
use roomwarden::model::{PageRequest, RoomId};
use roomwarden::provider::sandbox::world::World;
use roomwarden::provider::{ErrorKind, Provider, build};
use std::sync::Arc;

fn parse_profile(body: &str) -> Result<Profile, String> {
    common::parse_profile("agora", body)
}

/// A profile with org + app for the base URL and the App ID + certificate
/// for tokens.
fn with_certificate(fake: &Fake, app_id: &str, certificate: &str) -> Profile {
    let o = fake.options();
    parse_profile(&format!(
        "base_url = \"{}\"\norg = \"{}\"\napp = \"{}\"\napp_id = \"{app_id}\"\napp_certificate = \"{certificate}\"",
        fake.base_url(),
        o.org,
        o.app
    ))
    .unwrap()
}

async fn fake() -> Fake {
    let world = common::active_world();
    conformance::seed(&world);
    agora_fake::start(world, Options::default()).await
}

const WRONG_CERT: &str = "ffffffffffffffffffffffffffffffff";

async fn start() -> Subject {
    let fake = fake().await;
    let o = fake.options().clone();
    let provider = build(&with_certificate(
        &fake,
        &o.agora_app_id,
        &o.app_certificate,
    ))
    .unwrap();
    Subject {
        provider,
        world: fake.world().clone(),
        bad_auth: build(&with_certificate(&fake, &o.agora_app_id, WRONG_CERT)).unwrap(),
        room_id: |r: &RoomId| r.clone(),
        guard: Box::new(fake),
    }
}

conformance_suite!(start);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_tokens_are_accepted_and_reused() {
    let fake = fake().await;
    let o = fake.options().clone();
    let p: Arc<dyn Provider> = build(&with_certificate(
        &fake,
        &o.agora_app_id,
        &o.app_certificate,
    ))
    .unwrap();
    for _ in 0..3 {
        p.rooms(PageRequest::sized(10)).await.unwrap();
    }
    assert_eq!(fake.built_tokens(), 3, "every call carried a built token");
    assert_eq!(fake.unauthorized(), 0);
    assert_eq!(fake.exchanges(), 0, "nothing is exchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_certificate_or_app_id_is_refused_without_quoting_it() {
    let fake = fake().await;
    let o = fake.options().clone();
    let other_app = "00000000000000000000000000000000";
    for (app_id, cert) in [
        (o.agora_app_id.as_str(), WRONG_CERT),
        (other_app, o.app_certificate.as_str()),
    ] {
        let p = build(&with_certificate(&fake, app_id, cert)).unwrap();
        let e = p.rooms(PageRequest::sized(10)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth, "{e}");
        assert!(!e.to_string().contains(cert), "{e}");
    }
    assert_eq!(fake.built_tokens(), 0);
}

#[tokio::test]
async fn the_newer_app_id_base_url_takes_the_same_app_id() {
    let o = Options::default();
    let fake = agora_fake::start(
        World::generate().shared(),
        Options {
            app_id: Some(o.agora_app_id.clone()),
            ..o.clone()
        },
    )
    .await;
    let p = build(
        &parse_profile(&format!(
            "base_url = \"{}\"\napp_id = \"{}\"\napp_certificate_env = \"RW_TEST_AGORA_CERT_UNSET_VAR\"",
            fake.base_url(),
            o.agora_app_id
        ))
        .unwrap(),
    );
    // The certificate's variable is unset: a config error naming the key.
    let e = p.err().expect("no certificate").to_string();
    assert!(e.contains("app_certificate"), "{e}");

    let p = build(
        &parse_profile(&format!(
            "base_url = \"{}\"\napp_id = \"{}\"\napp_certificate = \"{}\"",
            fake.base_url(),
            o.agora_app_id,
            o.app_certificate
        ))
        .unwrap(),
    )
    .unwrap();
    p.rooms(PageRequest::sized(10)).await.unwrap();
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.contains(&format!("/app-id/{}/", o.agora_app_id))),
        "{:?}",
        fake.requests()
    );
    assert_eq!(fake.built_tokens(), 1);
}

#[test]
fn certificate_profiles_are_checked_before_anything_is_sent() {
    let base = "base_url = \"http://127.0.0.1:1\"\norg = \"o\"\napp = \"a\"";
    let id = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let cert = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let refused = |body: String| {
        build(&parse_profile(&format!("{base}\n{body}")).unwrap())
            .err()
            .expect("refused")
            .to_string()
    };
    // No App ID to build for.
    let e = refused(format!("app_certificate = \"{cert}\""));
    assert!(e.contains("app_id"), "{e}");
    // Not the console's 32 hexadecimal characters, named without quoting
    // the certificate.
    let e = refused(format!(
        "app_id = \"{id}\"\napp_certificate = \"not-hex-secret-42\""
    ));
    assert!(
        e.contains("app_certificate") && e.contains("32 hexadecimal"),
        "{e}"
    );
    assert!(!e.contains("not-hex-secret-42"), "{e}");
    let e = refused(format!("app_id = \"short\"\napp_certificate = \"{cert}\""));
    assert!(e.contains("app_id") && e.contains("32 hexadecimal"), "{e}");
    // One credential only.
    let e = refused(format!(
        "app_id = \"{id}\"\napp_certificate = \"{cert}\"\ntoken = \"t\""
    ));
    assert!(e.contains("`token` and `app_certificate`"), "{e}");
    // app_id with org + app still needs the certificate.
    let e = refused(format!("app_id = \"{id}\"\ntoken = \"t\""));
    assert!(e.contains("either `app_id`"), "{e}");
}

/// The REST docs send the Agora app token as the Bearer token; the Java
/// SDK first exchanges it (`POST /token` `{"grant_type":"agora"}`) for an
/// Easemob token. Against a server that takes only the exchanged token,
/// the first refusal switches the adapter to the exchange, and it stays
/// there: one refused call, one exchange, then the Easemob token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_taking_only_exchanged_tokens_gets_the_agora_exchange() {
    let world = World::generate().shared();
    let fake = agora_fake::start(
        world,
        Options {
            agora_tokens_direct: false,
            ..Options::default()
        },
    )
    .await;
    let o = fake.options().clone();
    let p = build(&with_certificate(
        &fake,
        &o.agora_app_id,
        &o.app_certificate,
    ))
    .unwrap();
    for _ in 0..3 {
        p.rooms(PageRequest::sized(10)).await.unwrap();
    }
    assert_eq!(fake.unauthorized(), 1, "the direct token, once");
    assert_eq!(fake.exchanges(), 1, "exchanged once, then reused");
    let tokens: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("POST ") && r.contains("/token"))
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");

    // A wrong certificate fails the exchange too: an authentication error
    // that says both were tried, without the certificate.
    let p = build(&with_certificate(&fake, &o.agora_app_id, WRONG_CERT)).unwrap();
    let e = p.rooms(PageRequest::sized(10)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert!(e.to_string().contains("grant_type agora"), "{e}");
    assert!(!e.to_string().contains(WRONG_CERT), "{e}");
}
