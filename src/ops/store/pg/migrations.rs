//! The schema, as numbered migrations run on first use. `roomwarden_schema`
//! lists the versions applied; a transaction-scoped advisory lock makes
//! concurrent first starts (several workers) apply each one once.

use tokio_postgres::Client;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// An arbitrary constant: the advisory lock key for migrations.
const LOCK_KEY: i64 = 0x726f_6f6d_7761_7264; // "roomward"

const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "audit records",
        r#"
CREATE TABLE audit_records (
    id          bigserial PRIMARY KEY,
    ts          timestamptz NOT NULL,
    logged_at   timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CHECK (kind IN ('intent', 'result')),
    operator    text NOT NULL,
    os_user     text NOT NULL,
    host        text NOT NULL,
    profile     text NOT NULL,
    provider    text NOT NULL,
    room        text NOT NULL,
    user_id     text NOT NULL,
    action      text NOT NULL,
    role_before text,
    status      text,
    reason      text,
    ticket      text,
    batch       text NOT NULL
);
CREATE INDEX audit_records_call ON audit_records (batch, room, user_id, action);
CREATE INDEX audit_records_operator ON audit_records (operator, id);
CREATE INDEX audit_records_ticket ON audit_records (ticket, id) WHERE ticket IS NOT NULL;
CREATE INDEX audit_records_undo ON audit_records (room, user_id, id) WHERE kind = 'result';
CREATE FUNCTION roomwarden_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_records is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION roomwarden_append_only();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION roomwarden_append_only();
"#,
    ),
    (
        2,
        "ticket queue",
        r#"
CREATE TABLE queue_pushes (
    id        bigserial PRIMARY KEY,
    file      text NOT NULL,
    profile   text NOT NULL,
    rows      integer NOT NULL,
    operator  text NOT NULL,
    host      text NOT NULL,
    pushed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE queue_rows (
    id            bigserial PRIMARY KEY,
    push_id       bigint NOT NULL REFERENCES queue_pushes (id),
    position      integer NOT NULL,
    profile       text NOT NULL,
    room          text NOT NULL,
    user_id       text NOT NULL,
    action        text NOT NULL,
    reason        text,
    ticket        text,
    state         text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'claimed', 'done')),
    worker        text,
    batch         text,
    past_batches  text[] NOT NULL DEFAULT '{}',
    claims        integer NOT NULL DEFAULT 0,
    lease_until   timestamptz,
    status        text,
    result_reason text,
    done_at       timestamptz
);
CREATE INDEX queue_rows_open ON queue_rows (profile, id) WHERE state <> 'done';
CREATE INDEX queue_rows_worker ON queue_rows (worker) WHERE state = 'claimed';
CREATE INDEX queue_rows_user ON queue_rows (profile, room, user_id, id) WHERE state <> 'done';
CREATE TABLE queue_workers (
    id           text PRIMARY KEY,
    profile      text NOT NULL,
    operator     text NOT NULL,
    host         text NOT NULL,
    pid          integer NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz
);
"#,
    ),
];

/// Applies the migrations the database lacks; refuses a database whose
/// schema is newer than this build.
pub async fn run(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS roomwarden_schema (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let have: i32 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM roomwarden_schema",
            &[],
        )
        .await?
        .get(0);
    if have > SCHEMA_VERSION {
        // Reported by the caller as a plain SQL-side error.
        tx.batch_execute(&format!(
            "DO $$ BEGIN RAISE EXCEPTION 'the database schema is version {have}, newer than this roomwarden knows ({SCHEMA_VERSION}); upgrade roomwarden'; END $$"
        ))
        .await?;
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > have) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO roomwarden_schema (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await?;
        tracing::info!(version, name, "audit database migrated");
    }
    tx.commit().await
}
