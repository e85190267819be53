//! Property-based fuzzing of every parser of untrusted input: ticket files
//! (CSV and JSON Lines), the config file, `Retry-After`, the display
//! escaping, and every adapter's wire decoding (each adapter's
//! `decode_any` runs a body through all its decoders and the pure steps
//! after them). Properties: "never panics" on arbitrary bytes, on
//! JSON/TOML/CSV-shaped text built from the field names the parsers look
//! for, and on truncated text; and round trips where a format has one.
//!
//! `cargo test --test fuzz` runs 256 cases per property. A campaign:
//! `PROPTEST_CASES=1000000 cargo test --release --test fuzz` (see the
//! README, "Reliability and safety").

use proptest::prelude::*;
use roomwarden::config::Config;
use roomwarden::model::{Action, Role, RoomId, UserId};
use roomwarden::ops::tickets;
use roomwarden::provider::{agora, amity, imkit, nandbox, parse_retry_after, symphony};
use roomwarden::text;
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Duration;

/// Field names the adapters read, so that generated objects reach past
/// the first `match` of a decoder.
const KEYS: &[&str] = &[
    "data",
    "count",
    "cursor",
    "id",
    "_id",
    "name",
    "owner",
    "member",
    "affiliations",
    "affiliations_count",
    "result",
    "reason",
    "user",
    "newmembers",
    "access_token",
    "expires_in",
    "expire_timestamp",
    "error",
    "error_description",
    "code",
    "message",
    "token",
    "roomAttributes",
    "roomSystemInfo",
    "active",
    "rooms",
    "streamType",
    "type",
    "isOwner",
    "members",
    "userId",
    "user_id",
    "displayName",
    "firstName",
    "lastName",
    "RC",
    "RM",
    "retryAfter",
    "totalCount",
    "status",
    "managers",
    "memberProperties",
    "nickname",
    "client",
    "role",
    "channels",
    "channelUsers",
    "users",
    "paging",
    "next",
    "channelId",
    "membership",
    "roles",
    "memberCount",
    "isDeleted",
    "roomId",
    "title",
    "participants",
    "createdBy",
    "detail",
    "method",
    "reference",
    "chat",
    "chatMember",
    "chatAdministrators",
    "administrators",
    "owner_id",
    "member_count",
    "chat_id",
    "display_name",
    "streams",
    "isActive",
    "attributes",
    "roomName",
    "membersCount",
];

/// Values the adapters compare against, and edge cases of numbers as text.
const WORDS: &[&str] = &[
    "",
    " ",
    "owner",
    "member",
    "admin",
    "Admin",
    "coHost",
    "host",
    "user",
    "Removed",
    "Deleted",
    "Active",
    "Left",
    "success",
    "true",
    "false",
    "ROOM",
    "channel-owner",
    "channel-moderator",
    "moderator",
    "forbidden_op",
    "invalid_parameter",
    "resource_not_found",
    "kickMember: kickMembers number more than maxSize : 60",
    "users [u1, U2] are not members of this group!",
    "username u1 doesn't exist!",
    "user: u1 doesn't exist in group: 1",
    "maxSize",
    "maxSize : 99999999999999999999999",
    "[",
    "]",
    "[]",
    "\u{1b}[2J\u{7}",
    "0",
    "1",
    "-1",
    "400",
    "429",
    "400317",
    "400311",
    "400100",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
    "1e400",
    "NaN",
    "u1",
    "U2",
    "66213271109633",
    "90090684438172188",
    "ended",
    "recorded",
    "live",
    "a+b/c==",
    "a=b",
    "Mon, 01 Jan 2024 00:00:00 GMT",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| { serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number) }),
        prop::sample::select(WORDS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// One answer of each kind the adapters read, as their docs show it.
const SHAPES: &[&str] = &[
    // Agora
    r#"{"data":[{"id":"66213271109633","name":"r","owner":"u1","affiliations_count":2}],"cursor":"c","count":1}"#,
    r#"{"data":[{"id":"66213271109633","name":"r","owner":"u1","affiliations_count":"2","affiliations":[{"owner":"u1"},{"member":"u2"}]}]}"#,
    r#"{"data":[{"owner":"u1"},{"member":"u2"},{"member":"U2"}],"count":2}"#,
    r#"{"data":["u1","U2"]}"#,
    r#"{"data":[{"result":false,"reason":"user: u1 doesn't exist in group: 1","user":"u1","action":"remove_member","id":"1"}]}"#,
    r#"{"data":{"newmembers":["u1"],"action":"add_member","id":"1"}}"#,
    r#"{"data":{"result":"success","oldadmin":"u1"}}"#,
    r#"{"access_token":"t","expires_in":3600,"expire_timestamp":1700000000000}"#,
    r#"{"error":"invalid_parameter","error_description":"kickMember: kickMembers number more than maxSize : 60"}"#,
    // Symphony
    r#"{"count":1,"rooms":[{"roomAttributes":{"name":"n"},"roomSystemInfo":{"id":"a+b/c==","active":true}}]}"#,
    r#"[{"id":"a+b/c==","active":true,"streamType":{"type":"ROOM"},"roomAttributes":{"name":"n"}}]"#,
    r#"[{"id":7215545058313,"owner":true,"isOwner":false}]"#,
    r#"{"count":1,"members":[{"user":{"userId":7215545058313,"displayName":"d","firstName":"f","lastName":"l"},"isOwner":true,"owner":false}]}"#,
    r#"{"count":1,"streams":[{"id":"a+b/c==","isActive":true,"type":{"type":"ROOM"},"attributes":{"roomName":"n","membersCount":"3"}}]}"#,
    r#"{"format":"TEXT","message":"Member added"}"#,
    r#"{"name":"sessionToken","token":"t"}"#,
    r#"{"code":400,"message":"User is not a member"}"#,
    // IMKit
    r#"{"RC":0,"RM":"OK","result":{"totalCount":1,"data":[{"_id":"r1","id":"r1","name":"n","status":1,"members":["a","b"]}]}}"#,
    r#"{"RC":0,"RM":"OK","result":{"_id":"r1","name":"n","status":1,"owner":{"_id":"u1","nickname":"n"},"managers":["u2"],"members":[{"_id":"u1","nickname":"a"},{"id":"u3"}],"memberProperties":[{"client":"u2","role":"admin","badge":0}]}}"#,
    r#"{"RC":404,"RM":"not found","error":{"code":"x","message":"m"},"retryAfter":5}"#,
    // Amity
    r#"{"channels":[{"channelId":"channel-1","displayName":"d","memberCount":3,"isDeleted":false}],"channelUsers":[{"userId":"u1","channelId":"channel-1","membership":"member","roles":["channel-moderator"]}],"users":[{"userId":"u1","displayName":"d"}],"paging":{"next":"t"}}"#,
    r#"{"rooms":[{"roomId":"r1","title":"t","status":"live","isDeleted":false,"participants":[{"type":"coHost","userId":"u2"}],"createdBy":"u1"}],"users":[{"userId":"u1","displayName":"d"}],"paging":{"next":"t"}}"#,
    r#"{"status":"error","code":400317,"message":"m","data":{"detail":["x"]}}"#,
    // nandbox
    r#"{"method":"chatDetails","reference":"1","chat":{"id":"90090684438172188","title":"t","name":"n","owner_id":"1","member_count":"3"}}"#,
    r#"{"method":"chatMember","reference":1,"chatMember":{"user":{"id":"1","name":"n"},"chat":{"id":"90090684438172188"},"type":"Admin","status":"Active"}}"#,
    r#"{"method":"chatAdministrators","chatAdministrators":{"administrators":[{"id":"1","name":"n"}]}}"#,
    r#"{"error":"123"}"#,
];

/// `v` with each field kept (or now and then dropped or added), arrays of
/// any length from their items, and each value kept or replaced by any
/// other.
fn mutated(v: Value) -> BoxedStrategy<Value> {
    match v {
        Value::Object(m) => {
            let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = m
                .into_iter()
                .map(|(k, v)| {
                    prop_oneof![
                        9 => mutated(v).prop_map(move |v| Some((k.clone(), v))),
                        1 => Just(None),
                    ]
                    .boxed()
                })
                .collect();
            let extra = prop::option::weighted(0.1, (prop::sample::select(KEYS), leaf()));
            (fields, extra)
                .prop_map(|(fields, extra)| {
                    let mut out: Map<String, Value> = fields.into_iter().flatten().collect();
                    if let Some((k, v)) = extra {
                        out.insert(k.to_string(), v);
                    }
                    Value::Object(out)
                })
                .boxed()
        }
        Value::Array(items) if !items.is_empty() => {
            let item = proptest::strategy::Union::new(items.into_iter().map(mutated));
            prop::collection::vec(item, 0..8)
                .prop_map(Value::Array)
                .boxed()
        }
        leaf_value => prop_oneof![3 => Just(leaf_value), 1 => leaf()].boxed(),
    }
}

/// A documented answer, changed here and there.
fn shaped() -> impl Strategy<Value = Value> {
    proptest::strategy::Union::new(
        SHAPES
            .iter()
            .map(|s| mutated(serde_json::from_str(s).expect("a valid shape"))),
    )
}

/// A body off the wire: a documented answer changed here and there, JSON
/// built from the adapters' vocabulary, either cut short anywhere, or any
/// bytes at all.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => shaped().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => shaped()
            .prop_map(|v| serde_json::to_vec(&v).unwrap())
            .prop_flat_map(|b| {
                let n = b.len();
                (Just(b), 0..=n)
            })
            .prop_map(|(b, n)| b[..n].to_vec()),
        1 => json()
            .prop_map(|v| serde_json::to_vec(&v).unwrap())
            .prop_flat_map(|b| {
                let n = b.len();
                (Just(b), 0..=n)
            })
            .prop_map(|(b, n)| b[..n].to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..96),
    ]
}

proptest! {
    #[test]
    fn agora_decoders_never_panic(b in body()) {
        agora::decode_any(&b);
    }

    #[test]
    fn agora_member_pages_never_panic(page in body(), admins in body()) {
        let _ = agora::parse_members_page(&page, &admins);
    }

    #[test]
    fn symphony_decoders_never_panic(b in body()) {
        symphony::decode_any(&b);
        let _ = symphony::parse_membership_list(&b);
        let _ = symphony::parse_admin_membership_page(&b);
    }

    #[test]
    fn imkit_decoders_never_panic(b in body()) {
        imkit::decode_any(&b);
    }

    #[test]
    fn amity_decoders_never_panic(b in body()) {
        amity::decode_any(&b);
    }

    #[test]
    fn nandbox_decoders_never_panic(b in body()) {
        nandbox::decode_any(&b);
    }

    #[test]
    fn id_checks_never_panic(s in "\\PC{0,40}|[0-9+/=_-]{0,30}|.{0,20}") {
        let _ = roomwarden::model::id_problem(&s);
        let _ = nandbox::check_id(&s);
        let _ = symphony::ids::user_number(&UserId::from(s.as_str()));
        let _ = symphony::ids::url_safe(&RoomId::from(s.as_str()));
        let _ = symphony::ids::standard(&RoomId::from(s.as_str()));
    }
}

// ---- Round trips of the adapters' member decoding ----

proptest! {
    /// Agora: owner and member rows, admins joined in by name.
    #[test]
    fn agora_member_pages_round_trip(
        rows in prop::collection::vec(("[a-z0-9_.-]{1,12}", 0u8..3), 0..40)
    ) {
        let mut seen = std::collections::HashSet::new();
        let rows: Vec<(String, u8)> = rows
            .into_iter()
            .filter(|(id, _)| seen.insert(id.clone()))
            .collect();
        let page: Vec<Value> = rows
            .iter()
            .map(|(id, r)| {
                let key = if *r == 0 { "owner" } else { "member" };
                serde_json::json!({ key: id })
            })
            .collect();
        let admins: Vec<&str> = rows.iter().filter(|(_, r)| *r == 1).map(|(id, _)| id.as_str()).collect();
        let page = serde_json::to_vec(&serde_json::json!({"data": page, "count": rows.len()})).unwrap();
        let admins = serde_json::to_vec(&serde_json::json!({"data": admins})).unwrap();
        let members = agora::parse_members_page(&page, &admins).unwrap();
        let got: Vec<(String, Role)> = members.iter().map(|m| (m.user.to_string(), m.role)).collect();
        let want: Vec<(String, Role)> = rows
            .iter()
            .map(|(id, r)| (id.clone(), [Role::Owner, Role::Admin, Role::Member][*r as usize]))
            .collect();
        prop_assert_eq!(got, want);
    }

    /// Symphony: int64 ids and owner flags, as numbers or numeric strings.
    #[test]
    fn symphony_member_lists_round_trip(
        rows in prop::collection::vec((any::<i64>(), any::<bool>(), any::<bool>()), 0..40)
    ) {
        let list: Vec<Value> = rows
            .iter()
            .map(|(id, owner, as_text)| {
                let id = if *as_text { Value::from(id.to_string()) } else { Value::from(*id) };
                serde_json::json!({"id": id, "owner": owner})
            })
            .collect();
        let members = symphony::parse_membership_list(&serde_json::to_vec(&list).unwrap()).unwrap();
        let got: Vec<(String, Role)> = members.iter().map(|m| (m.user.to_string(), m.role)).collect();
        let want: Vec<(String, Role)> = rows
            .iter()
            .map(|(id, owner, _)| (id.to_string(), if *owner { Role::Owner } else { Role::Member }))
            .collect();
        prop_assert_eq!(got, want);
    }

    /// Symphony stream ids: either base64 alphabet, the same id both ways.
    #[test]
    fn symphony_stream_ids_round_trip(id in "[A-Za-z0-9+/_-]{1,40}={0,2}") {
        let safe = symphony::ids::url_safe(&RoomId::from(id.as_str())).unwrap();
        let standard = symphony::ids::standard(&RoomId::from(id.as_str())).unwrap();
        prop_assert_eq!(symphony::ids::url_safe(&RoomId::from(standard.as_str())).unwrap(), safe.clone());
        prop_assert_eq!(symphony::ids::standard(&RoomId::from(safe.as_str())).unwrap(), standard);
    }
}

// ---- Ticket files ----

/// Text shaped like a ticket file: a header (or not), rows of fields from
/// the words the parser knows, quotes, blank lines, a byte-order mark.
fn ticket_text() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        prop::sample::select(
            &[
                "room",
                "user",
                "action",
                "reason",
                "ticket",
                "remove",
                "demote",
                "readd",
                "ban",
                "1",
                "u1",
                "..",
                ".",
                "",
                " ",
                "\"",
                "\"a,b\"",
                "\"two\nlines\"",
                "\u{feff}",
                "\u{1b}",
                "{",
                "}",
                "null",
            ][..]
        )
        .prop_map(str::to_string),
        ".{0,8}",
    ];
    let line = prop::collection::vec(field, 0..7).prop_map(|f| f.join(","));
    let csv = prop::collection::vec(line, 0..8).prop_map(|l| l.join("\n"));
    let jsonl = prop::collection::vec(json(), 0..6).prop_map(|v| {
        v.iter()
            .map(|v| serde_json::to_string(v).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    });
    prop_oneof![
        csv,
        jsonl,
        ".{0,200}",
        any::<bool>().prop_flat_map(|bom| {
            "room,user,action(,reason)?\n([0-9a-z.,\" ]{0,20}\n){0,4}"
                .prop_map(move |t| if bom { format!("\u{feff}{t}") } else { t })
        })
    ]
}

#[derive(Clone, Debug)]
struct TicketRow {
    room: String,
    user: String,
    action: Action,
    reason: Option<String>,
    ticket: Option<String>,
}

/// An id as the parser keeps it: trimmed, no control characters, not `.`
/// or `..`; commas and quotes are the writer's business.
fn ticket_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.,\"' é名-]{1,16}".prop_map(|s| {
        let s = s.trim().to_string();
        if roomwarden::model::id_problem(&s).is_some() {
            format!("id{s}")
        } else {
            s
        }
    })
}

fn ticket_note() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[A-Za-z0-9 ,\"'#:-]{1,20}".prop_map(|s| s.trim().to_string()))
        .prop_map(|n| n.filter(|n| !n.is_empty()))
}

fn ticket_row() -> impl Strategy<Value = TicketRow> {
    (
        ticket_id(),
        ticket_id(),
        prop::sample::select(&[Action::Remove, Action::Demote, Action::Readd][..]),
        ticket_note(),
        ticket_note(),
    )
        .prop_map(|(room, user, action, reason, ticket)| TicketRow {
            room,
            user,
            action,
            reason,
            ticket,
        })
}

fn render(rows: &[TicketRow], jsonl: bool) -> String {
    if jsonl {
        return rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "room": r.room, "user": r.user, "action": r.action.as_str(),
                    "reason": r.reason, "ticket": r.ticket,
                })
                .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["room", "user", "action", "reason", "ticket"])
        .unwrap();
    for r in rows {
        w.write_record([
            r.room.as_str(),
            r.user.as_str(),
            r.action.as_str(),
            r.reason.as_deref().unwrap_or(""),
            r.ticket.as_deref().unwrap_or(""),
        ])
        .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

proptest! {
    #[test]
    fn ticket_files_never_panic(t in ticket_text()) {
        let _ = tickets::parse(&t, "t");
    }

    #[test]
    fn ticket_files_round_trip(
        rows in prop::collection::vec(ticket_row(), 1..20),
        jsonl in any::<bool>(),
        bom in any::<bool>(),
    ) {
        let mut text = render(&rows, jsonl);
        if bom {
            text.insert(0, '\u{feff}');
        }
        let got = tickets::parse(&text, "t").unwrap();
        prop_assert_eq!(got.len(), rows.len());
        for (g, r) in got.iter().zip(&rows) {
            prop_assert_eq!(g.room.as_str(), r.room.as_str());
            prop_assert_eq!(g.user.as_str(), r.user.as_str());
            prop_assert_eq!(g.action, r.action);
            prop_assert_eq!(g.note.as_deref(), r.reason.as_deref());
            prop_assert_eq!(g.ticket.as_deref(), r.ticket.as_deref());
        }
    }
}

// ---- The config file ----

/// Every key a profile may take (the common ones and each provider's, a
/// secret in its three spellings), plus two that none takes.
fn config_keys() -> Vec<String> {
    use roomwarden::provider::{KeyKind, specs};
    let mut keys: Vec<String> = roomwarden::config::COMMON_KEYS
        .iter()
        .map(|k| k.to_string())
        .collect();
    for spec in specs() {
        for k in spec.keys {
            keys.push(k.name.to_string());
            if k.kind == KeyKind::Secret {
                keys.push(format!("{}_env", k.name));
                keys.push(format!("{}_cmd", k.name));
            }
        }
    }
    keys.extend(["default_profile".to_string(), "bogus".to_string()]);
    keys.sort();
    keys.dedup();
    keys
}

const CONFIG_VALUES: &[&str] = &[
    "\"sandbox\"",
    "\"agora\"",
    "\"symphony\"",
    "\"imkit\"",
    "\"amity\"",
    "\"nandbox\"",
    "\"slack\"",
    "true",
    "false",
    "0",
    "-1",
    "1",
    "9223372036854775807",
    "1e308",
    "1e-308",
    "-0.0",
    "nan",
    "inf",
    "0.0000001",
    "\"https://u:p@h.example/x?k=v\"",
    "\"not a url\"",
    "\"(\"",
    "\"^svc-\"",
    "[]",
    "[\"a\", 1]",
    "[\"90090684438172188\"]",
    "{}",
    "\"\"",
    "\"\\u001b[2J\"",
    "\"channels\"",
    "\"rooms\"",
    "\"us\"",
    "\"#ff00ff\"",
    "\"red\"",
    "\"\"\"a\nb\"\"\"",
    "'lit'",
];

fn config_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        3 => prop::sample::select(CONFIG_VALUES).prop_map(str::to_string),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|f| format!("{f:?}")),
        1 => ".{0,10}",
    ];
    let line = prop_oneof![
        4 => (prop::sample::select(config_keys()), value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => prop::sample::select(&[
            "[profiles.a]", "[profiles.b]", "[keys]", "[profiles]", "[[profiles.a]]",
            "default_profile = \"a\"", "remove = \"x\"", "down = \"j, down\"", "quit = \"ctrl-\"",
        ][..]).prop_map(str::to_string),
        1 => ".{0,20}",
    ];
    prop_oneof![
        4 => prop::collection::vec(line, 0..12).prop_map(|l| l.join("\n")),
        1 => ".{0,200}",
    ]
}

proptest! {
    #[test]
    fn config_files_never_panic(text in config_text()) {
        if let Ok(c) = Config::parse(&text, Path::new("fuzz.toml"), None) {
            let _ = c.profile(None);
            let keys = config_keys();
            for p in c.profiles.values() {
                for key in &keys {
                    let _ = p.get_str(key);
                    let _ = p.get_u64(key);
                    let _ = p.get_f64(key);
                    let _ = p.get_bool(key);
                    let _ = p.get_str_list(key);
                }
            }
            let _ = roomwarden::tui::check_keys(&c.keys);
        }
    }

    #[test]
    fn config_files_round_trip(
        name in "[a-z][a-z0-9_-]{0,10}",
        provider in prop::sample::select(&["sandbox", "agora", "amity"][..]),
        host in "[a-z]{1,10}",
        read_only in any::<bool>(),
        protected in prop::collection::vec("[a-z0-9._-]{1,10}", 0..5),
        rate in 1u32..100_000,
        max_batch in 1u32..10_000,
    ) {
        let text = format!(
            "default_profile = \"{name}\"\n[profiles.{name}]\nprovider = \"{provider}\"\n\
             base_url = \"https://{host}.example\"\nread_only = {read_only}\n\
             protected_users = {protected:?}\nrate_limit_per_sec = {rate}\nmax_batch = {max_batch}\n"
        );
        let c = Config::parse(&text, Path::new("fuzz.toml"), None).unwrap();
        let p = c.profile(None).unwrap();
        prop_assert_eq!(&p.name, &name);
        prop_assert_eq!(p.provider, provider);
        let base = format!("https://{host}.example");
        prop_assert_eq!(p.common.base_url.as_deref(), Some(base.as_str()));
        prop_assert_eq!(p.common.read_only, read_only);
        prop_assert_eq!(&p.common.protected_users, &protected);
        prop_assert_eq!(p.common.rate_limit_per_sec, Some(f64::from(rate)));
        prop_assert_eq!(p.common.max_batch, Some(max_batch as usize));
    }
}

// ---- Retry-After and display text ----

fn retry_after_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,40}",
        "-?[0-9]{0,25}(\\.[0-9]{0,10})?(e[+-]?[0-9]{1,4})?",
        prop::sample::select(
            &[
                "1e19",
                "1e20",
                "18446744073709551616",
                "1e308",
                "1e309",
                "inf",
                "-inf",
                "NaN",
                "-0",
                "",
                " 5 ",
                "Wed, 21 Oct 2015 07:28:00 GMT",
                "Fri, 31 Dec 9999 23:59:59 GMT",
                "Sun, 06 Nov 1994 08:49:37 GMT",
            ][..]
        )
        .prop_map(str::to_string),
        any::<f64>().prop_map(|f| f.to_string()),
        ".{0,30}",
    ]
}

proptest! {
    #[test]
    fn retry_after_never_panics(s in retry_after_text()) {
        if let Some(d) = parse_retry_after(&s) {
            // Usable by the limiter however large.
            let _ = tokio::time::Instant::now().checked_add(d);
        }
    }

    #[test]
    fn retry_after_seconds_round_trip(n in any::<u32>()) {
        prop_assert_eq!(parse_retry_after(&n.to_string()), Some(Duration::from_secs(u64::from(n))));
    }

    #[test]
    fn escaped_text_holds_no_control_character(s in any::<String>(), max in 0usize..300) {
        let shown = text::escape(&s);
        prop_assert!(!shown.chars().any(text::is_hidden));
        if !s.chars().any(text::is_hidden) {
            prop_assert_eq!(shown.as_ref(), s.as_str());
        }
        let cell = text::cell(&s, max);
        prop_assert!(cell.chars().count() <= max);
        prop_assert!(!cell.chars().any(text::is_hidden));
    }
}
