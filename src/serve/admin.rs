//! The admin HTTP listener (loopback by default; `--admin ADDR`):
//!
//! | request | answer |
//! |---|---|
//! | `GET /metrics` | the Prometheus metrics: OpenMetrics text if `Accept` asks for it, the classic text format otherwise |
//! | `GET /healthz` | `200 ok` (and a `warning:` line while the TLS certificate is expired, not yet valid or expires within 30 days), or `503 shutting down` once a shutdown began |
//! | `GET /topology` | the snapshot being served, as the topology JSON with its `epoch` |
//! | `POST /topology/updates` | a JSON list of updates ([`updates`](super::updates)), applied as one new snapshot: `200 {"epoch": N}`, or `400 {"error": "..."}` and nothing changes; an empty list changes nothing and publishes nothing |
//! | `POST /reload` | reload the files: `200 {"epoch": N}`, or `422 {"error": "..."}` and the old ones keep serving |
//!
//! Anything else is `404`, or `405` for a known path with another method.
//!
//! A client holds little: at most `--admin-max-connections` connections are open at once (more
//! are closed on accept), a request's headers must arrive within `--admin-header-timeout` (which
//! also closes a connection idle that long), its body within `--admin-body-timeout` (`408`)
//! and at most 1 MiB (`400`). Refusals are counted in
//! `tagroute_admin_connections_refused_total`.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, CONNECTION, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::Shared;
use super::listener::Accepting;
use super::logging::{Clipped, Throttle};
use super::updates::{parse_updates, snapshot_json};

/// The largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// The paths served, for `405` on another method.
const PATHS: &[&str] = &[
    "/metrics",
    "/healthz",
    "/topology",
    "/topology/updates",
    "/reload",
];

/// Serves admin requests on `listener` until shutdown.
pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let permits = Arc::new(Semaphore::new(shared.settings.admin_max_connections.max(1)));
    let mut accepting = Accepting::new("admin", &shared.shutdown);
    let full = Throttle::per_second();
    while let Some((stream, peer)) = accepting.next(&listener).await {
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            shared.metrics.refuse_admin("limit");
            if let Some(left_out) = full.ready() {
                tracing::warn!(
                    %peer, max = shared.settings.admin_max_connections, left_out,
                    "admin connection refused: too many connections"
                );
            }
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            converse(stream, &shared).await;
            drop(permit);
        });
    }
}

/// One admin connection, its headers each under the header timeout.
async fn converse(stream: TcpStream, shared: &Arc<Shared>) {
    let service = service_fn(|request| {
        let shared = Arc::clone(shared);
        async move { Ok::<_, Infallible>(answer(request, &shared).await) }
    });
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.settings.admin_header_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    match served {
        Err(error) if error.is_timeout() => shared.metrics.refuse_admin("header_timeout"),
        Err(error) => tracing::debug!(%error, "admin connection ended with an error"),
        Ok(()) => {}
    }
}

async fn answer(request: Request<Incoming>, shared: &Arc<Shared>) -> Response<Full<Bytes>> {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    match (method, path.as_str()) {
        (Method::GET, "/metrics") => {
            let accept = request.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
            let (body, content_type) = shared.metrics.render_for(accept);
            text(StatusCode::OK, content_type, body)
        }
        (Method::GET, "/healthz") if shared.is_shutting_down() => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "shutting down\n".into(),
        ),
        (Method::GET, "/healthz") => {
            let body = match shared.certificate_warning() {
                Some(warning) => format!("ok\nwarning: {warning}\n"),
                None => "ok\n".into(),
            };
            text(StatusCode::OK, "text/plain", body)
        }
        (Method::GET, "/topology") => {
            let snapshot = shared.routes.snapshot();
            body_json(StatusCode::OK, &snapshot_json(&snapshot))
        }
        (Method::POST, "/topology/updates") => post_updates(request, shared).await,
        (Method::POST, "/reload") => match super::reload::reload(shared, "http").await {
            Ok(epoch) => body_json(StatusCode::OK, &json!({ "epoch": epoch })),
            Err(error) => body_json(StatusCode::UNPROCESSABLE_ENTITY, &json!({ "error": error })),
        },
        (_, path) if PATHS.contains(&path) => text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "method not allowed\n".into(),
        ),
        _ => text(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

/// A request body that did not arrive: too slow (`408`, the connection closes), too large or
/// broken (`400`).
enum BodyError {
    Timeout,
    Unreadable(String),
}

/// The whole body of `request`, within the body timeout and [`MAX_BODY`].
async fn read_body(request: Request<Incoming>, shared: &Shared) -> Result<Bytes, BodyError> {
    let collect = Limited::new(request.into_body(), MAX_BODY).collect();
    match tokio::time::timeout(shared.settings.admin_body_timeout, collect).await {
        Err(_) => {
            shared.metrics.refuse_admin("body_timeout");
            Err(BodyError::Timeout)
        }
        Ok(Err(e)) => Err(BodyError::Unreadable(format!("cannot read the body: {e}"))),
        Ok(Ok(body)) => Ok(body.to_bytes()),
    }
}

async fn post_updates(request: Request<Incoming>, shared: &Arc<Shared>) -> Response<Full<Bytes>> {
    let bad = |error: String| {
        shared
            .metrics
            .updates
            .get_or_create(&super::metrics::OutcomeLabels { outcome: "error" })
            .inc();
        // The error may quote the request's names: clipped in the log, whole in the answer.
        tracing::warn!(error = %Clipped(&error), "topology updates rejected");
        body_json(StatusCode::BAD_REQUEST, &json!({ "error": error }))
    };
    let body = match read_body(request, shared).await {
        Ok(body) => body,
        Err(BodyError::Unreadable(error)) => return bad(error),
        Err(BodyError::Timeout) => {
            let mut response = text(
                StatusCode::REQUEST_TIMEOUT,
                "text/plain",
                "the request body did not arrive in time\n".into(),
            );
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad("the body is not UTF-8".into());
    };
    let updates = match parse_updates(text) {
        Ok(updates) => updates,
        Err(e) => return bad(e.to_string()),
    };
    if updates.is_empty() {
        // Nothing to change: no new snapshot, no new epoch.
        let epoch = shared.routes.snapshot().epoch();
        return body_json(StatusCode::OK, &json!({ "epoch": epoch }));
    }
    match shared.routes.apply(&updates) {
        Ok(snapshot) => {
            shared.metrics.set_epoch(snapshot.epoch());
            shared
                .metrics
                .updates
                .get_or_create(&super::metrics::OutcomeLabels { outcome: "ok" })
                .inc();
            tracing::info!(
                epoch = snapshot.epoch(),
                updates = updates.len(),
                "topology updated"
            );
            body_json(StatusCode::OK, &json!({ "epoch": snapshot.epoch() }))
        }
        Err(e) => bad(e.to_string()),
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn body_json(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    text(status, "application/json", format!("{value}\n"))
}
