//! The admin HTTP listener (loopback by default; `--admin ADDR`):
//!
//! | request | answer |
//! |---|---|
//! | `GET /metrics` | the Prometheus metrics (OpenMetrics text) |
//! | `GET /healthz` | `200 ok`, or `503 shutting down` once a shutdown began |
//! | `GET /topology` | the snapshot being served, as DESIGN section 4's JSON with its `epoch` |
//! | `POST /topology/updates` | a JSON list of updates ([`updates`](super::updates)), applied as one new snapshot: `200 {"epoch": N}`, or `400 {"error": "..."}` and nothing changes |
//! | `POST /reload` | reload the files: `200 {"epoch": N}`, or `422 {"error": "..."}` and the old ones keep serving |
//!
//! Anything else is `404`, or `405` for a known path with another method. Request bodies are
//! capped at 1 MiB.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

use super::Shared;
use super::updates::{parse_updates, snapshot_json};

/// The largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// Serves admin requests on `listener` until shutdown.
pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "admin accept failed");
                    continue;
                }
            },
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(answer(request, &shared).await) }
            });
            let io = TokioIo::new(stream);
            if let Err(error) = http1::Builder::new().serve_connection(io, service).await {
                tracing::debug!(%error, "admin connection ended with an error");
            }
        });
    }
}

async fn answer(request: Request<Incoming>, shared: &Arc<Shared>) -> Response<Full<Bytes>> {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    match (method, path.as_str()) {
        (Method::GET, "/metrics") => text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            shared.metrics.render(),
        ),
        (Method::GET, "/healthz") if shared.is_shutting_down() => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "shutting down\n".into(),
        ),
        (Method::GET, "/healthz") => text(StatusCode::OK, "text/plain", "ok\n".into()),
        (Method::GET, "/topology") => {
            let snapshot = shared.routes.snapshot();
            body_json(StatusCode::OK, &snapshot_json(&snapshot))
        }
        (Method::POST, "/topology/updates") => post_updates(request, shared).await,
        (Method::POST, "/reload") => match super::reload::reload(shared, "http").await {
            Ok(epoch) => body_json(StatusCode::OK, &json!({ "epoch": epoch })),
            Err(error) => body_json(StatusCode::UNPROCESSABLE_ENTITY, &json!({ "error": error })),
        },
        (_, "/metrics" | "/healthz" | "/topology" | "/topology/updates" | "/reload") => text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "method not allowed\n".into(),
        ),
        _ => text(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

async fn post_updates(request: Request<Incoming>, shared: &Arc<Shared>) -> Response<Full<Bytes>> {
    let bad = |error: String| {
        shared
            .metrics
            .updates
            .get_or_create(&super::metrics::OutcomeLabels { outcome: "error" })
            .inc();
        tracing::warn!(%error, "topology updates rejected");
        body_json(StatusCode::BAD_REQUEST, &json!({ "error": error }))
    };
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return bad(format!("cannot read the body: {e}")),
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad("the body is not UTF-8".into());
    };
    let updates = match parse_updates(text) {
        Ok(updates) => updates,
        Err(e) => return bad(e.to_string()),
    };
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
