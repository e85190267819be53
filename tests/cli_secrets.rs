//! Secrets never reach the screen: `profiles` hides a password in a
//! `base_url`, and a secret that is not one line of plain text is a config
//! error (exit 2) naming its key, before any connection is tried.

mod common;

use common::Isolated;

fn config(home: &Isolated, body: &str) -> String {
    let path = home.path("config.toml");
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn profiles_never_prints_a_password_or_query_from_a_base_url() {
    let home = Isolated::default();
    let cfg = config(
        &home,
        "[profiles.a]\nprovider = \"agora\"\nbase_url = \"https://mod:hunter2@a1.easemob.com/x?key=k3y\"\n\
         org = \"o\"\napp = \"a\"\ntoken_env = \"RW_UNSET\"\n",
    );
    for format in ["table", "csv", "jsonl"] {
        let out = home
            .binary()
            .args(["--config", &cfg, "--format", format, "profiles"])
            .assert()
            .success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(!text.contains("hunter2") && !text.contains("k3y"), "{text}");
        assert!(
            text.contains("https://mod:***@a1.easemob.com/x?***"),
            "{text}"
        );
    }
}

#[test]
fn a_secret_with_a_control_character_is_exit_2_naming_the_key() {
    let home = Isolated::default();
    let cfg = config(
        &home,
        "[profiles.a]\nprovider = \"agora\"\nbase_url = \"http://127.0.0.1:9\"\n\
         org = \"o\"\napp = \"a\"\ntoken_env = \"RW_TEST_TOKEN\"\n",
    );
    let out = home
        .binary()
        .env("RW_TEST_TOKEN", "s3c\tr3t")
        .args(["--config", &cfg, "rooms"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("`token_env`") && err.contains("control character"),
        "{err}"
    );
    assert!(!err.contains("s3c"), "{err}");
}

#[test]
fn a_multi_line_token_cmd_is_exit_2_naming_the_key() {
    let home = Isolated::default();
    let cfg = config(
        &home,
        "[profiles.n]\nprovider = \"nandbox\"\nbase_url = \"ws://127.0.0.1:9/\"\n\
         token_cmd = \"printf '123:0:s3cr3t\\\\nsecond'\"\nchats = [\"1\"]\n",
    );
    let out = home
        .binary()
        .args(["--config", &cfg, "rooms"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("`token_cmd`") && err.contains("one line"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[test]
fn a_config_file_that_never_ends_is_exit_2() {
    let home = Isolated::default();
    let out = home
        .binary()
        .args(["--config", "/dev/zero", "profiles"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("larger than 1 MiB"), "{err}");
}
