//! Team mode through the binary: an audit database that cannot be reached
//! stops every change before anything is sent; the queue commands.

mod common;

use common::Isolated;

#[test]
fn an_unreachable_audit_database_sends_nothing_and_exits_3_saying_why() {
    let iso = Isolated::default();
    let nowhere = iso.path("no-server-here");
    std::fs::create_dir_all(&nowhere).unwrap();
    let url = format!(
        "postgres://rw@{}/rw",
        nowhere.display().to_string().replace('/', "%2F")
    );
    for args in [
        // No command: the console, which stops before taking the terminal.
        vec![],
        vec!["remove", "10000000000000003", "71000000000122502", "--yes"],
        vec!["audit"],
        vec!["readd", "10000000000000003", "71000000000122502", "--yes"],
    ] {
        let out = iso
            .binary()
            .args(&args)
            .env("ROOMWARDEN_AUDIT_URL", &url)
            .env("TERM", "xterm")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("audit database rw@")
                && stderr.contains("cannot be reached")
                && stderr.contains("nothing was sent"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: no rows printed");
    }
    // The file log was never written: the database was the only store.
    assert!(!iso.path("xdg-data/roomwarden/audit.jsonl").exists());
}

#[test]
fn a_password_in_the_audit_url_flag_is_refused() {
    let iso = Isolated::default();
    let out = iso
        .binary()
        .args([
            "audit",
            "--audit-url",
            "postgres://rw:hunter2@127.0.0.1:1/rw",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("audit_password_env") && !stderr.contains("hunter2"),
        "{stderr}"
    );
}
