//! The one WebSocket session to the Bot API, and calls over it.
//!
//! - Opening: connect, send `TOKEN_AUTH` as the first frame, wait for
//!   `TOKEN_AUTH_OK`; an error frame instead is a refused token
//!   ([`ErrorKind::Auth`], as the log shows `{"error":199992}` then a
//!   close). A close with no error frame (1000/1001/1006…) is a lost
//!   connection, retried like any drop (the SDKs reconnect after it). The
//!   token is only ever written into that frame.
//! - While open: a writer task sends requests and a `PING` every 30 s; a
//!   reader task hands replies and error frames to the caller and
//!   unsolicited frames (join/leave `chatMember`) to the event handler.
//! - Calls are serialised by the session mutex: one request in flight at a
//!   time, so an error frame (which names no request) belongs to the call
//!   in flight. Replies are matched by `reference`.
//! - A call whose answer is lost (the socket dropped, or no answer in time)
//!   says so ([`CallError::Lost`]) and the session is thrown away, so a late
//!   answer can never be taken for the next call's. The next call opens a
//!   new session, re-authenticating, with backoff when opening fails.
//! - An undocumented ack ([`Expect::Ack`]: `addChatMember`, `addChatAdmin`,
//!   whose SDK requests carry no reference) is also answered by a
//!   `chatMember` frame for the call's chat and user without a reference;
//!   when nothing comes the call says so (`Ok(None)`) and the healthy
//!   session is kept (silence is no sign of a broken socket there).

use super::NAME;
use super::wire::{self, ChatMemberFrame, ChatRequest, Head, TokenAuth};
use crate::provider::{ErrorKind, ProviderError};
use futures::{SinkExt, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};

/// Keepalive interval: the SDKs ping every 30 s [sdk].
pub(super) const PING_EVERY: Duration = Duration::from_secs(30);
/// Delays before each reconnect attempt after a session was lost (the
/// SDKs wait 10–30 s once; a console retries sooner, then backs off).
const RECONNECT_DELAYS: [Duration; 4] = [
    Duration::from_millis(0),
    Duration::from_millis(500),
    Duration::from_secs(2),
    Duration::from_secs(5),
];

/// Handles an unsolicited frame (raw JSON text).
pub(super) type EventSink = Arc<dyn Fn(&str) + Send + Sync>;

/// How long an idle connection that dropped waits before reconnecting
/// (the SDKs wait 10–30 s [sdk]): from this to three times this.
const IDLE_RECONNECT: Duration = Duration::from_secs(10);

/// What answers a call.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// A documented reply, echoing the `reference`; none in time means the
    /// answer is lost and the session is done.
    Reply,
    /// An undocumented ack: a reply echoing the `reference`, or a
    /// `chatMember` frame for the call's chat and user without one; none
    /// within this wait is no answer (`Ok(None)`), the session kept.
    Ack(Duration),
}

/// Why a call did not get its reply.
#[derive(Debug)]
pub(super) enum CallError {
    /// The server answered with `{"error": N}` while this call was in flight.
    Frame(String),
    /// The request went out but its answer is unknown: the socket dropped
    /// or nothing came back in time. Resolve by asking, never assume.
    Lost(ProviderError),
    /// Nothing was sent: no session could be opened (refused token,
    /// unreachable server).
    Failed(ProviderError),
}

enum Inbound {
    /// A frame carrying a `reference`.
    Reply { reference: String, text: String },
    /// A `chatMember` frame without a `reference` (also handed to the
    /// event handler): it may answer an [`Expect::Ack`] call.
    Unreferenced { text: String },
    /// An error frame; `reference` only if a server ever echoes one.
    Error {
        reference: Option<String>,
        code: String,
    },
    /// The socket is gone.
    Closed,
}

struct Session {
    out: mpsc::UnboundedSender<String>,
    inbox: mpsc::UnboundedReceiver<Inbound>,
    reader: JoinHandle<()>,
    /// An [`Expect::Ack`] call is waiting: the reader hands unreferenced
    /// `chatMember` frames to the inbox too (at other times they only go
    /// to the event handler, so a long idle spell piles nothing up).
    acking: Arc<AtomicBool>,
}

/// Clears a session's `acking` when the call ends, however it ends.
struct Acking(Arc<AtomicBool>);

impl Drop for Acking {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The writer ends on its own once `out` is gone, closing politely.
        self.reader.abort();
    }
}

impl Session {
    /// Throws away answers nobody waits for; false when the socket is gone.
    fn drain(&mut self) -> bool {
        loop {
            match self.inbox.try_recv() {
                Ok(Inbound::Closed) | Err(mpsc::error::TryRecvError::Disconnected) => return false,
                Ok(_) => {}
                Err(mpsc::error::TryRecvError::Empty) => return true,
            }
        }
    }
}

#[derive(Default)]
struct Slot {
    session: Option<Session>,
    /// A session was open before: reopening backs off.
    opened_before: bool,
}

pub(super) struct Conn {
    url: String,
    token: SecretString,
    app_id: String,
    timeout: Duration,
    ping_every: Duration,
    slot: Mutex<Slot>,
    next_ref: AtomicU64,
    on_event: EventSink,
    /// Signalled when an open session's socket ends on its own (not when
    /// a session is dropped on purpose).
    closed: Arc<tokio::sync::Notify>,
    /// The shortest wait before an idle reconnect.
    idle_reconnect: Duration,
    /// The keeper is running.
    keeping: AtomicBool,
}

fn err(op: &str, kind: ErrorKind, message: impl Into<String>) -> ProviderError {
    ProviderError::new(NAME, op, kind, message)
}

impl Conn {
    pub fn new(
        url: String,
        token: SecretString,
        app_id: String,
        timeout: Duration,
        on_event: EventSink,
    ) -> Self {
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        Self {
            url,
            token,
            app_id,
            timeout,
            ping_every: PING_EVERY,
            slot: Mutex::new(Slot::default()),
            // References are digit strings like the docs' "123456789",
            // unique per adapter (and, by the clock, across restarts).
            next_ref: AtomicU64::new(start.saturating_mul(1000)),
            on_event,
            closed: Arc::new(tokio::sync::Notify::new()),
            idle_reconnect: IDLE_RECONNECT,
            keeping: AtomicBool::new(false),
        }
    }

    /// Keeps the session open while someone listens to events: when the
    /// socket drops with no call in flight, reconnects after 10–30 s (as
    /// the SDKs do), backing off while that fails, and calls `on_back` once
    /// the session is open again (the events in between are lost). Stops
    /// for good on a refused token, or when the connection is dropped.
    pub fn keep_open(self: &Arc<Self>, on_back: Arc<dyn Fn() + Send + Sync>) {
        if self.keeping.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.keeping.store(false, Ordering::SeqCst);
            return;
        };
        let weak = Arc::downgrade(self);
        let closed = self.closed.clone();
        let least = self.idle_reconnect;
        runtime.spawn(async move {
            loop {
                closed.notified().await;
                let mut wait = least.mul_f64(1.0 + 2.0 * fastrand::f64());
                loop {
                    tokio::time::sleep(wait).await;
                    let Some(conn) = weak.upgrade() else {
                        return;
                    };
                    match conn.ensure_open().await {
                        Ok(()) => {
                            tracing::info!(
                                "nandbox: reconnected after the connection dropped; joins and leaves in between were missed"
                            );
                            on_back();
                            break;
                        }
                        Err(e) if e.kind == ErrorKind::Auth => {
                            tracing::warn!("nandbox: not reconnecting: {e}");
                            conn.keeping.store(false, Ordering::SeqCst);
                            return;
                        }
                        Err(e) => {
                            tracing::info!("nandbox: idle reconnect failed: {e}");
                            wait = (wait * 2).min(least * 6);
                        }
                    }
                }
            }
        });
    }

    /// Opens the session if none is open (`TOKEN_AUTH` answered
    /// `TOKEN_AUTH_OK`): proves the token and the address work, sending no
    /// request about any chat.
    pub async fn ensure_open(&self) -> Result<(), ProviderError> {
        let mut slot = self.slot.lock().await;
        if slot.session.as_mut().is_some_and(Session::drain) {
            return Ok(());
        }
        slot.session = None;
        let session = self.open_with_backoff(slot.opened_before).await?;
        slot.session = Some(session);
        slot.opened_before = true;
        Ok(())
    }

    /// One chat-management request with a documented reply; the raw reply
    /// frame on success.
    pub async fn call(
        &self,
        method: &'static str,
        chat: &str,
        user: Option<&str>,
    ) -> Result<String, CallError> {
        let reply = self.exchange(method, chat, user, Expect::Reply).await?;
        reply.ok_or_else(|| CallError::Lost(err(method, ErrorKind::Timeout, "no answer in time")))
    }

    /// One request whose ack is undocumented (`addChatMember`,
    /// `addChatAdmin`): the reply echoing our reference or a `chatMember`
    /// frame for this chat and user without one; `None` when nothing came
    /// within `wait` (the session is kept: ask instead).
    pub async fn ack(
        &self,
        method: &'static str,
        chat: &str,
        user: &str,
        wait: Duration,
    ) -> Result<Option<String>, CallError> {
        self.exchange(method, chat, Some(user), Expect::Ack(wait))
            .await
    }

    async fn exchange(
        &self,
        method: &'static str,
        chat: &str,
        user: Option<&str>,
        expect: Expect,
    ) -> Result<Option<String>, CallError> {
        let mut slot = self.slot.lock().await;
        let alive = slot.session.as_mut().is_some_and(Session::drain);
        if !alive {
            slot.session = None;
            let session = self.open_with_backoff(slot.opened_before).await;
            slot.session = Some(session.map_err(CallError::Failed)?);
            slot.opened_before = true;
        }
        let Some(session) = slot.session.as_mut() else {
            return Err(CallError::Failed(err(
                method,
                ErrorKind::Connection,
                "no session",
            )));
        };
        let acking = Acking(session.acking.clone());
        acking
            .0
            .store(matches!(expect, Expect::Ack(_)), Ordering::SeqCst);
        let reference = self.next_ref.fetch_add(1, Ordering::Relaxed).to_string();
        let frame = ChatRequest {
            method,
            app_id: &self.app_id,
            chat_id: chat,
            user_id: user,
            reference: &reference,
        };
        let text = serde_json::to_string(&frame)
            .map_err(|e| CallError::Failed(err(method, ErrorKind::BadRequest, e.to_string())))?;
        tracing::debug!("nandbox: {method} chat {chat} (reference {reference})");
        if session.out.send(text).is_err() {
            slot.session = None;
            return Err(CallError::Lost(err(
                method,
                ErrorKind::Connection,
                "the connection dropped as the request was sent",
            )));
        }
        let wait = match expect {
            Expect::Reply => self.timeout,
            Expect::Ack(wait) => wait.min(self.timeout),
        };
        let deadline = Instant::now() + wait;
        loop {
            let got = tokio::time::timeout_at(deadline, session.inbox.recv()).await;
            match got {
                Ok(Some(Inbound::Reply { reference: r, text })) if r == reference => {
                    return Ok(Some(text));
                }
                Ok(Some(Inbound::Error {
                    reference: None,
                    code,
                })) => return Err(CallError::Frame(code)),
                Ok(Some(Inbound::Error {
                    reference: Some(r),
                    code,
                })) if r == reference => return Err(CallError::Frame(code)),
                Ok(Some(Inbound::Unreferenced { text }))
                    if matches!(expect, Expect::Ack(_)) && concerns(&text, chat, user) =>
                {
                    return Ok(Some(text));
                }
                // A reply to someone else (a late answer), or an event: not
                // ours.
                Ok(Some(
                    Inbound::Reply { .. } | Inbound::Error { .. } | Inbound::Unreferenced { .. },
                )) => {}
                Ok(Some(Inbound::Closed) | None) => {
                    slot.session = None;
                    tracing::info!("nandbox: the connection dropped while {method} was in flight");
                    return Err(CallError::Lost(err(
                        method,
                        ErrorKind::Connection,
                        "the connection dropped while the request was in flight",
                    )));
                }
                Err(_) if matches!(expect, Expect::Ack(_)) => {
                    // The ack is undocumented: silence says nothing about
                    // the socket, which stays (a late reply carries this
                    // call's reference and is never taken for another's).
                    tracing::debug!("nandbox: no reply to {method} within {wait:?}");
                    return Ok(None);
                }
                Err(_) => {
                    // A late answer must never be read as the next call's:
                    // this session is done.
                    slot.session = None;
                    return Err(CallError::Lost(err(
                        method,
                        ErrorKind::Timeout,
                        format!("no answer within {:.1}s", wait.as_secs_f64()),
                    )));
                }
            }
        }
    }

    async fn open_with_backoff(&self, reopening: bool) -> Result<Session, ProviderError> {
        if !reopening {
            return self.open().await;
        }
        let mut last = None;
        for delay in RECONNECT_DELAYS {
            if !delay.is_zero() {
                let jitter = delay.mul_f64(fastrand::f64() * 0.2);
                tokio::time::sleep(delay + jitter).await;
            }
            match self.open().await {
                Ok(s) => return Ok(s),
                Err(e) if matches!(e.kind, ErrorKind::Connection | ErrorKind::Timeout) => {
                    tracing::info!("nandbox: reconnect failed: {e}");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| err("connect", ErrorKind::Connection, "cannot reconnect")))
    }

    /// Connects and authenticates.
    async fn open(&self) -> Result<Session, ProviderError> {
        const OP: &str = "TOKEN_AUTH";
        let connect = tokio_tungstenite::connect_async(self.url.as_str());
        let (ws, _) = match tokio::time::timeout(self.timeout, connect).await {
            Err(_) => {
                return Err(err(
                    "connect",
                    ErrorKind::Timeout,
                    "no WebSocket connection in time",
                ));
            }
            Ok(Err(e)) => return Err(connect_error(&e)),
            Ok(Ok(pair)) => pair,
        };
        let (mut sink, mut stream) = ws.split();
        let auth = serde_json::to_string(&TokenAuth {
            method: "TOKEN_AUTH",
            token: self.token.expose_secret(),
            rem: true,
        })
        .map_err(|e| err(OP, ErrorKind::BadRequest, e.to_string()))?;
        if sink.send(Message::text(auth)).await.is_err() {
            return Err(err(
                OP,
                ErrorKind::Connection,
                "the connection dropped before TOKEN_AUTH was sent",
            ));
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, stream.next()).await;
            let text = match next {
                Err(_) => {
                    return Err(err(
                        OP,
                        ErrorKind::Timeout,
                        "no answer to TOKEN_AUTH in time",
                    ));
                }
                // A refusal is an error frame (then a close) [log]; a close
                // without one says nothing about the token: the server went
                // away or restarted, and the SDKs reconnect [sdk].
                Ok(None) => {
                    return Err(err(
                        OP,
                        ErrorKind::Connection,
                        "the connection ended during TOKEN_AUTH, with no error frame (not a refused token; if this persists, check base_url and the token)",
                    ));
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    let code =
                        frame.map_or_else(|| "none".to_string(), |f| u16::from(f.code).to_string());
                    return Err(err(
                        OP,
                        ErrorKind::Connection,
                        format!(
                            "the server closed the connection during TOKEN_AUTH (close code {code}) with no error frame (not a refused token; if this persists, check base_url and the token)"
                        ),
                    ));
                }
                Ok(Some(Err(e))) => {
                    return Err(err(
                        OP,
                        ErrorKind::Connection,
                        format!("the connection failed during TOKEN_AUTH: {}", ws_cause(&e)),
                    ));
                }
                Ok(Some(Ok(Message::Text(t)))) => t,
                Ok(Some(Ok(_))) => continue,
            };
            // The OK frame echoes the token: it is parsed, never logged.
            let Ok(head) = serde_json::from_str::<Head>(&text) else {
                continue;
            };
            if head.method.as_deref() == Some("TOKEN_AUTH_OK") {
                break;
            }
            if let Some(code) = head.error.as_ref().filter(|_| head.method.is_none()) {
                return Err(err(OP, ErrorKind::Auth, "the server refused the token")
                    .with_code(code_text(code)));
            }
        }
        tracing::debug!("nandbox: session open");
        let (out, out_rx) = mpsc::unbounded_channel();
        let (inbox_tx, inbox) = mpsc::unbounded_channel();
        let ended = Ended {
            inbox: inbox_tx,
            closed: self.closed.clone(),
        };
        tokio::spawn(writer(sink, out_rx, ended.clone(), self.ping_every));
        let acking = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn(reader(stream, ended, self.on_event.clone(), acking.clone()));
        Ok(Session {
            out,
            inbox,
            reader,
            acking,
        })
    }
}

type Sink = futures::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;
type Stream = futures::stream::SplitStream<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
>;

/// Where a session's tasks report frames, and that its socket ended.
#[derive(Clone)]
struct Ended {
    inbox: mpsc::UnboundedSender<Inbound>,
    closed: Arc<tokio::sync::Notify>,
}

impl Ended {
    fn send(&self, frame: Inbound) {
        let _ = self.inbox.send(frame);
    }

    /// The socket is gone: the call in flight (if any) and the keeper learn it.
    fn socket_gone(&self) {
        let _ = self.inbox.send(Inbound::Closed);
        self.closed.notify_one();
    }
}

/// Sends requests and a PING every `ping_every`; closes when the session
/// is dropped.
async fn writer(
    mut sink: Sink,
    mut requests: mpsc::UnboundedReceiver<String>,
    inbox: Ended,
    ping_every: Duration,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let sent = tokio::select! {
            next = requests.recv() => match next {
                Some(text) => sink.send(Message::text(text)).await,
                None => {
                    let _ = tokio::time::timeout(Duration::from_secs(2), sink.close()).await;
                    return;
                }
            },
            _ = ping.tick() => sink.send(Message::text(wire::PING)).await,
        };
        if sent.is_err() {
            inbox.socket_gone();
            return;
        }
    }
}

/// Sorts incoming frames: replies and error frames to the caller,
/// unsolicited `chatMember` frames to the event handler, PONGs away.
async fn reader(mut stream: Stream, inbox: Ended, on_event: EventSink, acking: Arc<AtomicBool>) {
    while let Some(msg) = stream.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let Ok(head) = serde_json::from_str::<Head>(&text) else {
            tracing::debug!(
                "nandbox: an unreadable frame ({} bytes) ignored",
                text.len()
            );
            continue;
        };
        let reference = head.reference.map(|r| r.0);
        if head.method.is_none()
            && let Some(code) = &head.error
        {
            let code = code_text(code);
            tracing::debug!("nandbox: error frame {code}");
            inbox.send(Inbound::Error { reference, code });
            continue;
        }
        if let Some(reference) = reference {
            inbox.send(Inbound::Reply {
                reference,
                text: text.to_string(),
            });
            continue;
        }
        match head.method.as_deref() {
            Some("PONG") => {}
            Some("chatMember") => {
                on_event(&text);
                if acking.load(Ordering::SeqCst) {
                    inbox.send(Inbound::Unreferenced {
                        text: text.to_string(),
                    });
                }
            }
            Some(other) => tracing::trace!("nandbox: {other} frame ignored"),
            None => {}
        }
    }
    inbox.socket_gone();
}

/// Whether a `chatMember` frame is about this chat and user.
fn concerns(text: &str, chat: &str, user: Option<&str>) -> bool {
    let Ok(frame) = serde_json::from_str::<ChatMemberFrame>(text) else {
        return false;
    };
    let m = frame.chat_member;
    Some(m.user.id.0.as_str()) == user && m.chat.is_some_and(|c| c.id.0 == chat)
}

/// An error code as text: `199999` for a number, the string as is.
fn code_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The innermost cause of a WebSocket error, for messages (no URL).
fn ws_cause(e: &tungstenite::Error) -> String {
    use std::error::Error as _;
    let mut source: Option<&dyn std::error::Error> = e.source();
    let mut root = e.to_string();
    while let Some(s) = source {
        root = s.to_string();
        source = s.source();
    }
    root
}

fn connect_error(e: &tungstenite::Error) -> ProviderError {
    const OP: &str = "connect";
    match e {
        tungstenite::Error::Http(resp) => {
            let status = resp.status().as_u16();
            let kind = match status {
                401 | 403 => ErrorKind::Auth,
                500..=599 => ErrorKind::Server { status },
                _ => ErrorKind::Connection,
            };
            err(
                OP,
                kind,
                format!("the server refused the WebSocket upgrade with HTTP {status}"),
            )
            .with_code(status.to_string())
        }
        tungstenite::Error::Url(_) => err(OP, ErrorKind::BadRequest, ws_cause(e)),
        _ => err(OP, ErrorKind::Connection, ws_cause(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::net::TcpListener;

    #[derive(Default)]
    struct Counts {
        auths: AtomicUsize,
        pings: AtomicUsize,
    }

    /// A minimal Bot API: accepts the token, answers PING with PONG and
    /// any other request with a reply carrying its reference, counts
    /// sessions and PINGs. With `restart`, it closes the first session
    /// right after accepting the token (a server restart while the console
    /// is idle) and keeps later ones open.
    async fn server(counts: Arc<Counts>, restart: bool) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let counts = counts.clone();
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    while let Some(Ok(Message::Text(t))) = ws.next().await {
                        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                        let mut first = false;
                        let answer = match v["method"].as_str() {
                            Some("TOKEN_AUTH") => {
                                first = counts.auths.fetch_add(1, Ordering::SeqCst) == 0;
                                serde_json::json!({"method": "TOKEN_AUTH_OK"})
                            }
                            Some("PING") => {
                                counts.pings.fetch_add(1, Ordering::SeqCst);
                                serde_json::json!({"method": "PONG"})
                            }
                            _ => {
                                serde_json::json!({"method": "chatDetails", "reference": v["reference"]})
                            }
                        };
                        if ws.send(Message::text(answer.to_string())).await.is_err() {
                            return;
                        }
                        if restart && first {
                            let _ = ws.close(None).await;
                            return;
                        }
                    }
                });
            }
        });
        format!("ws://{addr}/nandbox/api/")
    }

    fn conn_to(url: String) -> Conn {
        Conn::new(
            url,
            SecretString::from("1:0:s"),
            "0".into(),
            Duration::from_secs(10),
            Arc::new(|_: &str| {}),
        )
    }

    #[tokio::test]
    async fn pings_keep_the_session_and_pongs_are_not_replies() {
        let counts = Arc::new(Counts::default());
        let mut conn = conn_to(server(counts.clone(), false).await);
        conn.ping_every = Duration::from_millis(20);
        conn.call("getChat", "1", None).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while counts.pings.load(Ordering::SeqCst) < 3 {
            assert!(Instant::now() < deadline, "no PINGs");
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // PONGs in between never answer a call; the session is the same.
        let reply = conn.call("getChat", "1", None).await.unwrap();
        assert!(reply.contains("chatDetails"));
    }

    #[tokio::test]
    async fn an_idle_connection_that_drops_is_opened_again_while_someone_listens() {
        let counts = Arc::new(Counts::default());
        let mut conn = conn_to(server(counts.clone(), true).await);
        conn.idle_reconnect = Duration::from_millis(10);
        let conn = Arc::new(conn);
        conn.ensure_open().await.unwrap();
        let back = Arc::new(AtomicUsize::new(0));
        let told = back.clone();
        conn.keep_open(Arc::new(move || {
            told.fetch_add(1, Ordering::SeqCst);
        }));
        let deadline = Instant::now() + Duration::from_secs(10);
        while back.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "never reconnected");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(counts.auths.load(Ordering::SeqCst), 2, "one new session");
        assert_eq!(back.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_default_keepalive_is_30_seconds() {
        assert_eq!(PING_EVERY, Duration::from_secs(30));
    }
}
