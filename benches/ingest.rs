//! Benchmark 3: ingest, members per second turned from provider pages
//! into model `Member`s, per adapter:
//! - sandbox: `Provider::members` pages of 1,000 over the 120,000-member room;
//! - Agora: a 1,000-row `GET /chatrooms/{id}/users` body as the fake serves
//!   it, joined with the room's `GET …/admin` body, through the adapter's
//!   own decoding (`provider::agora::parse_members_page`);
//! - Symphony: the whole `GET /pod/v2/room/{id}/membership/list` of the
//!   120,000-member room, and one 1,000-member admin
//!   `GET /pod/v1/admin/stream/{id}/membership/list` page, through the
//!   adapter's own decoding.

#[path = "../tests/fakes/agora.rs"]
mod agora_fake;
#[path = "../tests/fakes/symphony.rs"]
mod symphony_fake;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use roomwarden::model::{PageRequest, Role, RoomId};
use roomwarden::provider::sandbox::Sandbox;
use roomwarden::provider::sandbox::world::{self, JUMBO_ROOM, World};
use roomwarden::provider::{Provider, agora, symphony};
use std::hint::black_box;
use std::time::Duration;

/// A members page and the admin list, fetched from the Agora fake.
fn agora_bodies(rt: &tokio::runtime::Runtime) -> (Vec<u8>, Vec<u8>) {
    rt.block_on(async {
        let fake =
            agora_fake::start(World::generate().shared(), agora_fake::Options::default()).await;
        let o = fake.options();
        let base = format!(
            "{}/{}/{}/chatrooms/{JUMBO_ROOM}",
            fake.base_url(),
            o.org,
            o.app
        );
        let http = reqwest::Client::new();
        let get = |url: String| {
            let req = http
                .get(url)
                .bearer_auth(fake.token())
                .header(reqwest::header::ACCEPT, "application/json");
            async move {
                let resp = req.send().await.expect("the fake answers");
                assert!(resp.status().is_success(), "{}", resp.status());
                resp.bytes().await.expect("a body").to_vec()
            }
        };
        let page = get(format!("{base}/users?pagenum=1&pagesize=1000")).await;
        let admins = get(format!("{base}/admin")).await;
        (page, admins)
    })
}

fn ingest(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let world = World::generate().shared();
    let (v2, admin_page, jumbo_len) = {
        let w = world::lock(&world);
        let r = w.room(&RoomId::from(JUMBO_ROOM)).expect("the jumbo room");
        (
            symphony_fake::v2_list_json(r).into_bytes(),
            symphony_fake::admin_page_json(r, 0, 1_000).into_bytes(),
            r.len(),
        )
    };
    let (agora_page, agora_admins) = agora_bodies(&rt);
    let parsed = agora::parse_members_page(&agora_page, &agora_admins).expect("parses");
    assert_eq!(parsed.len(), 1_000);
    assert!(
        parsed.iter().any(|m| m.role == Role::Admin),
        "the admin join applies"
    );

    let mut g = c.benchmark_group("ingest");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let sandbox = Sandbox::new(world.clone());
    let room = RoomId::from(JUMBO_ROOM);
    g.throughput(Throughput::Elements(jumbo_len as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("sandbox", "120k_in_1000_pages"), |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut req = PageRequest::sized(1_000);
                let mut n = 0;
                loop {
                    let page = sandbox.members(&room, req.clone()).await.expect("a page");
                    n += page.items.len();
                    black_box(&page.items);
                    match page.next {
                        Some(t) => req = req.next(t),
                        None => break n,
                    }
                }
            })
        })
    });

    g.sample_size(100);
    g.throughput(Throughput::Elements(parsed.len() as u64));
    g.bench_function(
        BenchmarkId::new("agora", "1000_rows_with_admin_join"),
        |b| b.iter(|| agora::parse_members_page(black_box(&agora_page), black_box(&agora_admins))),
    );

    let n = symphony::parse_admin_membership_page(&admin_page)
        .expect("parses")
        .len();
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new("symphony", "admin_page_1000"), |b| {
        b.iter(|| symphony::parse_admin_membership_page(black_box(&admin_page)))
    });

    let n = symphony::parse_membership_list(&v2).expect("parses").len();
    assert_eq!(n, jumbo_len);
    g.sample_size(20);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new("symphony", "v2_list_120k"), |b| {
        b.iter(|| symphony::parse_membership_list(black_box(&v2)))
    });
    g.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
