//! The admin HTTP listener (loopback by default; `--admin ADDR`):
//!
//! | request | answer |
//! |---|---|
//! | `GET /metrics` | the Prometheus metrics: OpenMetrics text if `Accept` asks for it, the classic text format otherwise |
//! | `GET /healthz` | `200 ok`, or `200 degraded: ...` while the cluster followed cannot be read (with the age of the last good poll); a `warning:` line while the TLS certificate is expired, not yet valid or expires within 30 days; `503 shutting down` once a shutdown began |
//! | `GET /topology` | the topology served, as the topology JSON with its `epoch`, where its base comes from (`base`: `file` or `cluster`), and for each server and database which layer decided each part (`decided_by`) |
//! | `POST /topology/updates` | a JSON list of updates ([`updates`](super::updates)), kept as operator overrides (in the state file first) and published: `200 {"epoch": N}`, or `400 {"error": "..."}` (an update that does not apply) or `500 {"error": "..."}` (the state file cannot be written) and nothing changes; an empty list changes nothing and publishes nothing |
//! | `GET /topology/overrides` | the overrides in the order they apply, each with `active` (and `why` not) |
//! | `DELETE /topology/overrides` | clears every override, or those of `?server=NAME` or `?database=NAME`: `200 {"cleared": N, "epoch": E}` |
//! | `POST /reload` | reload the files that changed: `200 {"epoch": N}`, or `422 {"error": "..."}` and the old ones keep serving |
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
use super::overrides::Clear;
use super::sources::PostError;
use super::updates::parse_updates;

/// The largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// The paths served, for `405` on another method.
const PATHS: &[&str] = &[
    "/metrics",
    "/healthz",
    "/topology",
    "/topology/updates",
    "/topology/overrides",
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
            let following = shared.following.as_ref().and_then(|f| f.degraded());
            let mut body = following.unwrap_or_else(|| "ok".into());
            body.push('\n');
            if let Some(warning) = shared.certificate_warning() {
                body.push_str(&format!("warning: {warning}\n"));
            }
            text(StatusCode::OK, "text/plain", body)
        }
        (Method::GET, "/topology") => {
            let epoch = shared.routes.snapshot().epoch();
            body_json(StatusCode::OK, &shared.sources().view(epoch))
        }
        (Method::POST, "/topology/updates") => post_updates(request, shared).await,
        (Method::GET, "/topology/overrides") => {
            body_json(StatusCode::OK, &shared.sources().overrides_view())
        }
        (Method::DELETE, "/topology/overrides") => {
            clear_overrides(request.uri().query(), shared).await
        }
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
    let posting = Arc::clone(shared);
    let count = updates.len();
    let posted = tokio::task::spawn_blocking(move || {
        let topology = posting.routes.topology();
        posting.sources().post(&updates, topology)
    })
    .await;
    match posted {
        Ok(Ok(published)) => {
            let epoch = match published {
                Some(published) => published.snapshot.epoch(),
                None => shared.routes.snapshot().epoch(),
            };
            shared.metrics.set_epoch(epoch);
            shared
                .metrics
                .updates
                .get_or_create(&super::metrics::OutcomeLabels { outcome: "ok" })
                .inc();
            tracing::info!(epoch, updates = count, "topology overrides posted");
            body_json(StatusCode::OK, &json!({ "epoch": epoch }))
        }
        Ok(Err(PostError::Invalid(e))) => bad(e.to_string()),
        Ok(Err(PostError::Persist(e))) => {
            shared
                .metrics
                .updates
                .get_or_create(&super::metrics::OutcomeLabels { outcome: "error" })
                .inc();
            let error = format!("the overrides cannot be kept, so none was applied: {e}");
            tracing::error!(%error, "topology updates refused");
            body_json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({ "error": error }),
            )
        }
        Err(e) => bad(e.to_string()),
    }
}

/// `DELETE /topology/overrides[?server=NAME | ?database=NAME]`.
async fn clear_overrides(query: Option<&str>, shared: &Arc<Shared>) -> Response<Full<Bytes>> {
    let which = match query.map(|q| q.split_once('=')) {
        None => Clear::All,
        Some(Some(("server", name))) if !name.is_empty() => Clear::Server(decode(name)),
        Some(Some(("database", name))) if !name.is_empty() => Clear::Database(decode(name)),
        Some(_) => {
            let error = "expected no query, `?server=NAME` or `?database=NAME`";
            return body_json(StatusCode::BAD_REQUEST, &json!({ "error": error }));
        }
    };
    let clearing = Arc::clone(shared);
    let cleared = tokio::task::spawn_blocking(move || {
        let topology = clearing.routes.topology();
        clearing.sources().clear(&which, topology)
    })
    .await;
    match cleared {
        Ok(Ok((cleared, published))) => {
            let epoch = match published {
                Some(published) => published.snapshot.epoch(),
                None => shared.routes.snapshot().epoch(),
            };
            shared.metrics.set_epoch(epoch);
            tracing::info!(epoch, cleared, "topology overrides cleared");
            body_json(
                StatusCode::OK,
                &json!({ "cleared": cleared, "epoch": epoch }),
            )
        }
        Ok(Err(e)) => {
            let error = format!("the state file cannot be written, so nothing was cleared: {e}");
            body_json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({ "error": error }),
            )
        }
        Err(e) => body_json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({ "error": e.to_string() }),
        ),
    }
}

/// A query value with its `%XX` escapes and `+` decoded (a name is any string).
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
