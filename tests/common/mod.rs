//! Helpers shared by the integration tests: serving a fake on loopback.
#![allow(dead_code)]

use std::net::SocketAddr;

/// Serves `router` on a random loopback port; returns `http://127.0.0.1:PORT`
/// and the server task (dropped with the test's runtime).
pub async fn serve(router: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind loopback");
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("fake server");
    });
    (format!("http://{addr}"), task)
}
