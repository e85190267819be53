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
        (SPAM, "evil\u{1b}[2J", "\\u{1b}"),
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
    std::fs::write(
        &ticket,
        format!("room,user,action\n{SPAM},71000000000122597,remove\n{SPAM},..,remove\n"),
    )
    .unwrap();
    let out = home
        .binary()
        .args(["apply", ticket.to_str().unwrap(), "--yes"])
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(err.contains("line 3") && err.contains("`..`"), "{err}");
}
