//! Hostile ids at every door: arguments, standard input and ticket files.
//! An id that could leave its place in a URL (`.`, `..`), an empty one, one
//! with control characters or over the provider's length limit is refused
//! with exit 2 naming it, before anything is sent or audited.

mod common;

use common::Isolated;

const SPAM: &str = "10000000000000006";

fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).to_string()
}

#[test]
fn dot_segments_and_control_characters_in_arguments_are_exit_2() {
    let home = Isolated::default();
    for (room, user, named) in [
        (SPAM, "..", "`..`"),
        (SPAM, ".", "`.`"),
        ("..", "71000000000122597", "`..`"),
        // Escaped as everywhere else on stderr (CLI.md): `\x1b`.
        (SPAM, "evil\u{1b}[2J", "`evil\\x1b[2J`"),
    ] {
        let out = home
            .binary()
            .args(["--format", "jsonl", "remove", room, user, "--yes"])
            .assert()
            .code(2);
        let err = stderr_of(&out);
        assert!(err.contains(named), "{room} {user:?}: {err}");
        assert!(
            !err.contains('\u{1b}'),
            "the terminal never sees a raw ESC: {err:?}"
        );
        assert!(out.get_output().stdout.is_empty());
    }
    // Nothing was audited: no batch started.
    let audit = home.path("xdg-data/roomwarden/audit.jsonl");
    let text = std::fs::read_to_string(audit).unwrap_or_default();
    assert!(text.is_empty(), "{text}");
}

#[test]
fn hostile_ids_on_standard_input_are_exit_2() {
    let home = Isolated::default();
    let out = home
        .binary()
        .args(["remove", SPAM, "-", "--yes"])
        .write_stdin("71000000000122597\n..\n")
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("`..`"));
}

#[test]
fn hostile_ids_in_ticket_files_name_the_line() {
    let home = Isolated::default();
    let ticket = home.path("t.csv");
    for (rows, line, named) in [
        (
            format!("{SPAM},71000000000122597,remove\n{SPAM},..,remove\n"),
            "line 3",
            "`..`",
        ),
        // Escaped as everywhere else on stderr (CLI.md): `\x1b`.
        (format!("{SPAM},a\u{1b}b,remove\n"), "line 2", "`a\\x1bb`"),
    ] {
        std::fs::write(&ticket, format!("room,user,action\n{rows}")).unwrap();
        let out = home
            .binary()
            .args(["apply", ticket.to_str().unwrap(), "--yes"])
            .assert()
            .code(2);
        let err = stderr_of(&out);
        assert!(err.contains(line) && err.contains(named), "{err}");
    }
}

/// A change run with a hostile `--reason` and `--ticket`: the audit log
/// keeps them exactly, and only the display escapes them.
fn audited_with(home: &Isolated, reason: &str, ticket: &str) {
    home.binary()
        .args([
            "--format",
            "jsonl",
            "remove",
            SPAM,
            "71000000000122597",
            "--yes",
            "--reason",
            reason,
            "--ticket",
            ticket,
        ])
        .assert()
        .success();
}

fn audit_as(home: &Isolated, format: &str) -> (String, String) {
    let out = home
        .binary()
        .args(["--format", format, "audit"])
        .assert()
        .success();
    let o = out.get_output();
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

#[test]
fn control_characters_are_escaped_in_table_and_csv_and_exact_in_jsonl() {
    let home = Isolated::default();
    let reason = "\u{1b}[2J\u{7}wiped";
    let ticket = "T-1\nFAKE,ROW";
    audited_with(&home, reason, ticket);

    let (table, _) = audit_as(&home, "table");
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}'),
        "{table:?}"
    );
    assert!(table.contains("\\x1b[2J\\x07wiped"), "{table}");
    assert!(table.contains("T-1\\x0aFAKE,ROW"), "{table}");
    // A header and one line per record (intent and result): no fake row.
    assert_eq!(table.lines().count(), 3, "{table}");

    let (csv, _) = audit_as(&home, "csv");
    assert!(!csv.contains('\u{1b}') && !csv.contains('\u{7}'), "{csv:?}");
    assert!(csv.contains("\\x1b[2J\\x07wiped"), "{csv}");
    // Still RFC 4180: the comma is quoted, and every record is one line.
    assert!(csv.contains("\"T-1\\x0aFAKE,ROW\""), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");

    let (jsonl, _) = audit_as(&home, "jsonl");
    let rows = common::jsonl(jsonl.as_bytes());
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r["ticket"], ticket, "jsonl keeps the text exactly");
    }
    assert_eq!(rows[0]["reason"], reason);
}

#[test]
fn a_cell_of_65536_characters_or_more_is_cut_not_a_panic() {
    let home = Isolated::default();
    let long = "r".repeat(70_000);
    audited_with(&home, &long, "T-2");
    let (table, _) = audit_as(&home, "table");
    assert_eq!(table.lines().count(), 3, "a header and two records");
    let row = table.lines().nth(1).unwrap();
    assert!(row.contains("r…"), "cut with an ellipsis");
    assert!(row.chars().count() < 2_000, "{} chars", row.chars().count());
    // The machine formats keep it whole.
    let (csv, _) = audit_as(&home, "csv");
    assert!(csv.contains(&long));
}

#[test]
fn stderr_messages_show_control_characters_escaped() {
    let home = Isolated::default();
    // A failure printed by main: the unknown profile is named.
    let out = home
        .binary()
        .args(["--profile", "evil\u{1b}]0;owned\u{7}", "rooms"])
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(err.contains("evil\\x1b]0;owned\\x07"), "{err:?}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");

    // A note printed by the command itself names the audit log's path.
    let dir = home.path("logs\u{1b}[2J");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("audit.jsonl");
    std::fs::write(&log, "torn {\n").unwrap();
    let out = home
        .binary()
        .args(["audit", "--audit-log", log.to_str().unwrap()])
        .assert()
        .success();
    let err = stderr_of(&out);
    assert!(err.contains("unreadable line"), "{err:?}");
    assert!(err.contains("logs\\x1b[2J"), "{err:?}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}
