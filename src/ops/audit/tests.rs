use super::*;
use std::collections::HashMap;

fn rec(kind: Kind, batch: &str, user: &str, status: Option<Status>, role: Option<Role>) -> Record {
    Record {
        ts: now_rfc3339(),
        kind,
        operator: "op".into(),
        profile: "p".into(),
        provider: "sandbox".into(),
        room: "r1".into(),
        user: user.into(),
        action: Action::Remove,
        status,
        reason: None,
        ticket: None,
        batch: batch.into(),
        role,
    }
}

fn intent(batch: &str, user: &str) -> Record {
    Record {
        reason: Some("spam".into()),
        ticket: Some("T-1".into()),
        ..rec(Kind::Intent, batch, user, None, Some(Role::Admin))
    }
}

fn result(batch: &str, user: &str) -> Record {
    rec(
        Kind::Result,
        batch,
        user,
        Some(Status::Removed),
        Some(Role::Admin),
    )
}

fn append_raw(path: &Path, bytes: &[u8]) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn users(records: &[Record]) -> Vec<(Kind, &str)> {
    records.iter().map(|r| (r.kind, r.user.as_str())).collect()
}

#[test]
fn appends_reads_and_finds_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    log.append(&[intent("b1", "u1"), intent("b1", "u2")], true)
        .unwrap();
    log.append(&[result("b1", "u1")], false).unwrap();
    let (records, bad) = read(&path).unwrap();
    assert_eq!((records.len(), bad), (3, 0));
    // The result is whole again: joined with its intent.
    assert_eq!(records[2].operator, "op");
    assert_eq!(records[2].ticket.as_deref(), Some("T-1"));
    assert_eq!(records[2].reason.as_deref(), Some("spam"));
    assert_eq!(records[2].role, Some(Role::Admin));
    let open = unfinished(&records);
    assert_eq!(users(&open), [(Kind::Intent, "u2")]);
    let (open, skipped) = open_intents(&path).unwrap();
    assert_eq!(users(&open), [(Kind::Intent, "u2")]);
    assert!(skipped.is_empty());
    let wanted = HashSet::from([("r1".into(), "u1".into()), ("r1".into(), "u2".into())]);
    let (roles, _) = roles_before(&path, "p", "sandbox", &wanted).unwrap();
    // u2's call never got an answer: it may have happened, so undo may
    // need the role its intent recorded.
    assert_eq!(
        roles,
        HashMap::from([
            (("r1".into(), "u1".into()), Role::Admin),
            (("r1".into(), "u2".into()), Role::Admin)
        ])
    );
    assert!(
        roles_before(&path, "other", "sandbox", &wanted)
            .unwrap()
            .0
            .is_empty()
    );
    assert!(
        roles_before(&path, "p", "agora", &wanted)
            .unwrap()
            .0
            .is_empty()
    );
    assert!(now_rfc3339().ends_with('Z') && now_rfc3339().len() == 24);
}

#[test]
fn a_result_line_names_only_what_reading_it_alone_needs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    let batch = new_batch_id();
    let mut i = rec(
        Kind::Intent,
        &batch,
        "71000000000122502",
        None,
        Some(Role::Member),
    );
    i.room = "10000000000000003".into();
    i.operator = "alice".into();
    i.profile = "sandbox".into();
    let mut r = i.clone();
    r.kind = Kind::Result;
    r.status = Some(Status::Removed);
    log.append(&[i, r], true).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&lines[0]),
        [
            "action", "batch", "kind", "operator", "profile", "provider", "role", "room", "ts",
            "user"
        ]
    );
    assert_eq!(
        keys(&lines[1]),
        ["action", "batch", "kind", "room", "status", "ts", "user"]
    );
    assert!(text.len() < 400, "{} bytes per change: {text}", text.len());
}

#[test]
fn lines_of_the_earlier_format_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let old = |kind: &str, status: &str| {
        format!(
            "{{\"ts\":\"2025-01-02T03:04:05.123456789Z\",\"kind\":\"{kind}\",\"operator\":\"op\",\"profile\":\"p\",\
             \"provider\":\"sandbox\",\"room\":\"r1\",\"user\":\"u1\",\"action\":\"remove\",\"status\":{status},\
             \"reason\":null,\"ticket\":\"T-9\",\"batch\":\"20250102T030405.123Z-42\",\"role\":\"owner\"}}\n"
        )
    };
    std::fs::write(
        &path,
        old("intent", "null")
            + &old("result", "\"removed\"")
            + &old("intent", "null").replace("u1", "u2"),
    )
    .unwrap();
    let (records, bad) = read(&path).unwrap();
    assert_eq!((records.len(), bad), (3, 0));
    assert_eq!(records[1].ticket.as_deref(), Some("T-9"));
    assert_eq!(
        users(&open_intents(&path).unwrap().0),
        [(Kind::Intent, "u2")]
    );
    let wanted = HashSet::from([("r1".into(), "u1".into())]);
    let (roles, _) = roles_before(&path, "p", "sandbox", &wanted).unwrap();
    assert_eq!(roles.values().collect::<Vec<_>>(), [&Role::Owner]);
}

/// A crash mid-write leaves `torn` at the end of the log; the next run
/// appends. Every whole record stays readable, the torn line is skipped
/// and named by its offset, and the new intent is intact.
fn torn_then_new_run(torn: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    log.append(&[intent("b1", "u1"), result("b1", "u1")], true)
        .unwrap();
    drop(log);
    let torn_at = std::fs::metadata(&path).unwrap().len();
    append_raw(&path, torn);

    // Readers before the next run: the torn line is skipped, named.
    let (before, skipped) = last(&path, 10).unwrap();
    assert_eq!(users(&before), [(Kind::Intent, "u1"), (Kind::Result, "u1")]);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].offset, torn_at);

    let next = AuditLog::open(&path).unwrap();
    next.append(&[intent("b2", "u2")], true).unwrap();

    let mut all = records(&path).unwrap();
    let got: Vec<Record> = all.by_ref().map(Result::unwrap).collect();
    assert_eq!(
        users(&got),
        [
            (Kind::Intent, "u1"),
            (Kind::Result, "u1"),
            (Kind::Intent, "u2")
        ]
    );
    assert_eq!(got[2], intent("b2", "u2").with_ts(&got[2].ts));
    assert_eq!(
        all.skipped(),
        [Skipped {
            file: path.clone(),
            offset: torn_at
        }]
    );
    assert!(
        all.skipped()[0]
            .to_string()
            .contains(&format!("unreadable line at byte {torn_at}"))
    );
    let (open, skipped) = open_intents(&path).unwrap();
    assert_eq!(users(&open), [(Kind::Intent, "u2")]);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].offset, torn_at);
    // The index remembers the torn line for the next reader.
    assert_eq!(open_intents(&path).unwrap().1, skipped);
    let (tail, skipped) = last(&path, 1).unwrap();
    assert_eq!(users(&tail), [(Kind::Intent, "u2")]);
    assert!(skipped.is_empty());
    let wanted = HashSet::from([("r1".into(), "u1".into())]);
    assert_eq!(
        roles_before(&path, "p", "sandbox", &wanted)
            .unwrap()
            .0
            .len(),
        1
    );
}

impl Record {
    fn with_ts(mut self, ts: &str) -> Self {
        self.ts = ts.into();
        self
    }
}

#[test]
fn half_a_record_costs_only_itself() {
    torn_then_new_run(b"{\"ts\":\"2025-01-02T03:04:05.123Z\",\"kind\":\"int");
}

#[test]
fn a_cut_utf8_character_costs_only_its_line() {
    // "é" is 0xC3 0xA9: the write stopped between the two bytes.
    let mut torn =
        b"{\"ts\":\"2025-01-02T03:04:05.123Z\",\"kind\":\"intent\",\"reason\":\"caf".to_vec();
    torn.push(0xC3);
    torn_then_new_run(&torn);
}

#[test]
fn a_whole_line_of_bad_utf8_in_the_middle_is_skipped_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    log.append(&[intent("b1", "u1")], true).unwrap();
    let bad_at = std::fs::metadata(&path).unwrap().len();
    append_raw(&path, b"{\"user\":\"\xff\xfe\"}\n");
    log.append(&[result("b1", "u1"), intent("b1", "u2")], true)
        .unwrap();
    let (records, bad) = read(&path).unwrap();
    assert_eq!((records.len(), bad), (3, 1));
    let (open, skipped) = open_intents(&path).unwrap();
    assert_eq!(users(&open), [(Kind::Intent, "u2")]);
    assert_eq!(skipped[0].offset, bad_at);
    let (all, skipped) = last(&path, 100).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(skipped[0].offset, bad_at);
}

#[test]
fn readers_cover_rotated_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    // About two calls per file.
    let log = AuditLog::open_rotating_at(&path, 600).unwrap();
    for n in 0..10 {
        let u = format!("u{n}");
        log.append(&[intent("b1", &u)], true).unwrap();
        if n != 3 && n != 8 {
            log.append(&[result("b1", &u)], false).unwrap();
        }
    }
    let rotated = files::rotated(&path).unwrap();
    assert!(rotated.len() >= 4, "{rotated:?}");
    let (records, bad) = read(&path).unwrap();
    assert_eq!((records.len(), bad), (18, 0));
    assert!(
        records
            .iter()
            .all(|r| r.operator == "op" && r.ticket.as_deref() == Some("T-1")),
        "every result joined, across files"
    );
    let (open, _) = open_intents(&path).unwrap();
    assert_eq!(users(&open), [(Kind::Intent, "u3"), (Kind::Intent, "u8")]);
    // The last records span files; the oldest result is joined with an
    // intent in an older file.
    let (tail, _) = last(&path, 17).unwrap();
    assert_eq!(tail.len(), 17);
    assert!(tail.iter().all(|r| r.profile == "p"));
    assert_eq!(tail, records[1..]);
    let wanted = HashSet::from([("r1".into(), "u0".into())]);
    assert_eq!(
        roles_before(&path, "p", "sandbox", &wanted)
            .unwrap()
            .0
            .len(),
        1,
        "found in the oldest file"
    );
    // Finishing u3 later, in the newest file, closes it.
    log.append(&[result("b1", "u3")], false).unwrap();
    assert_eq!(
        users(&open_intents(&path).unwrap().0),
        [(Kind::Intent, "u8")]
    );
    #[cfg(unix)]
    for (_, p) in files::rotated(&path).unwrap() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", p.display());
    }
}

#[test]
fn the_index_is_only_a_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open_rotating_at(&path, 600).unwrap();
    for n in 0..6 {
        log.append(&[intent("b1", &format!("u{n}"))], true).unwrap();
    }
    let all: Vec<String> = (0..6).map(|n| format!("u{n}")).collect();
    let names =
        |open: &[Record]| -> Vec<String> { open.iter().map(|r| r.user.to_string()).collect() };
    assert_eq!(names(&open_intents(&path).unwrap().0), all);
    // Lost, or garbage: read again from the start.
    std::fs::remove_file(files::index_path(&path)).unwrap();
    assert_eq!(names(&open_intents(&path).unwrap().0), all);
    std::fs::write(files::index_path(&path), b"{not json").unwrap();
    assert_eq!(names(&open_intents(&path).unwrap().0), all);
    // An old file deleted: its open intents are still reported.
    let (_, oldest) = files::rotated(&path).unwrap().remove(0);
    std::fs::remove_file(oldest).unwrap();
    assert_eq!(names(&open_intents(&path).unwrap().0), all);
    // Results close them, wherever they are.
    for n in 0..6 {
        log.append(&[result("b1", &format!("u{n}"))], false)
            .unwrap();
    }
    assert!(open_intents(&path).unwrap().0.is_empty());
}

#[test]
fn a_batch_id_is_short_and_new() {
    let a = new_batch_id();
    assert!(a.len() <= 16, "{a}");
    assert!(a.contains('-'));
    assert_eq!(base36(0), "0");
    assert_eq!(base36(35), "z");
    assert_eq!(base36(36), "10");
}

#[test]
fn two_writers_rotating_lose_and_repeat_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    // Two processes' logs, each with its own file handle.
    let a = AuditLog::open_rotating_at(&path, 700).unwrap();
    let b = AuditLog::open_rotating_at(&path, 700).unwrap();
    let mut written = Vec::new();
    for n in 0..20 {
        let (log, batch) = if n % 3 == 0 { (&b, "bb") } else { (&a, "ba") };
        let u = format!("u{n}");
        log.append(&[intent(batch, &u)], true).unwrap();
        log.append(&[result(batch, &u)], false).unwrap();
        written.push(u);
    }
    assert!(files::rotated(&path).unwrap().len() >= 5);
    let (records, bad) = read(&path).unwrap();
    assert_eq!(bad, 0);
    let intents: Vec<String> = records
        .iter()
        .filter(|r| r.kind == Kind::Intent)
        .map(|r| r.user.to_string())
        .collect();
    assert_eq!(intents, written, "each once, in order");
    assert!(records.iter().all(|r| r.profile == "p"), "all joined");
    assert!(open_intents(&path).unwrap().0.is_empty());
}

/// A result whose answer was lost ("may have taken effect").
fn maybe(batch: &str, user: &str, status: Status) -> Record {
    Record {
        reason: Some(format!(
            "HTTP 503; an earlier attempt {} (its answer was lost): check this user",
            crate::ops::MAY_HAVE_ACTED
        )),
        ..rec(Kind::Result, batch, user, Some(status), Some(Role::Admin))
    }
}

#[test]
fn undo_takes_the_intents_role_whatever_the_result_says() {
    // u1: removed. u2: failed after a lost answer. u3: the process died
    // with the call in flight (no result). u4: refused for good (still
    // there): nothing to undo. u5: skipped after a lost answer.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    let all = ["u1", "u2", "u3", "u4", "u5"];
    let intents: Vec<Record> = all.iter().map(|u| intent("b1", u)).collect();
    log.append(&intents, true).unwrap();
    let refused = Record {
        reason: Some("403 forbidden".into()),
        ..rec(Kind::Result, "b1", "u4", Some(Status::Failed), None)
    };
    log.append(
        &[
            result("b1", "u1"),
            maybe("b1", "u2", Status::Failed),
            refused,
            maybe("b1", "u5", Status::Skipped),
        ],
        false,
    )
    .unwrap();
    let wanted: HashSet<(RoomId, UserId)> =
        all.iter().map(|u| ("r1".into(), (*u).into())).collect();
    let (roles, _) = roles_before(&path, "p", "sandbox", &wanted).unwrap();
    let mut got: Vec<&str> = roles.keys().map(|(_, u)| u.as_str()).collect();
    got.sort();
    assert_eq!(got, ["u1", "u2", "u3", "u5"]);
    assert!(roles.values().all(|r| *r == Role::Admin), "{roles:?}");
}

#[test]
fn a_lost_answer_leaves_its_intent_unfinished_for_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    log.append(&[intent("b1", "u1"), intent("b1", "u2")], true)
        .unwrap();
    log.append(
        &[result("b1", "u1"), maybe("b1", "u2", Status::Failed)],
        false,
    )
    .unwrap();
    let (open, _) = open_intents(&path).unwrap();
    assert_eq!(users(&open), [(Kind::Intent, "u2")]);
    let (records, _) = read(&path).unwrap();
    assert_eq!(users(&unfinished(&records)), [(Kind::Intent, "u2")]);
    // What resume then records finishes it.
    log.append(&[result("b1", "u2")], false).unwrap();
    assert!(open_intents(&path).unwrap().0.is_empty());
    let (records, _) = read(&path).unwrap();
    assert!(unfinished(&records).is_empty());
}
