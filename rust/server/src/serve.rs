//! `sinkbridge serve`: the engine as a long-lived service. Definitions persist in the data
//! directory and come back at start, the REST API manages them, and SIGTERM or Ctrl-C stops
//! every rule gracefully (sinks flushed and closed) before the process exits 0.

use std::net::TcpListener;

use sinkbridge_engine::{Engine, EngineConfig};

use crate::cli::{Host, load_sources_dir, shutdown_signal};
use crate::config::ServeSettings;
use crate::managed::{ManagedEngine, Restored};
use crate::rest;

pub fn serve(settings: ServeSettings, host: &dyn Host) -> Result<(), String> {
    // Bind first: a port in use is the most common reason a server cannot start, and it
    // should be said before anything else happens.
    let listener = TcpListener::bind(settings.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;

    let engine = Engine::new(EngineConfig {
        data_dir: Some(settings.data_dir.clone()),
        ..EngineConfig::default()
    })
    .map_err(|e| e.to_string())?;
    host.prepare(&engine, &settings.plugins_dir)?;
    load_sources_dir(&engine, settings.sources_dir.as_deref())?;
    let managed = ManagedEngine::open(engine.clone(), Some(&settings.data_dir))?;
    let handle = engine.handle();

    let began = std::time::Instant::now();
    let mut restored = Restored::default();
    managed.restore_streams(&mut restored)?;
    handle.block_on(managed.restore_rules(&mut restored))?;
    for failure in &restored.failures {
        tracing::error!(target: "sinkbridge.server", "not restored: {failure}");
    }
    if let Err(e) = handle.block_on(engine.start_async()) {
        // Each failed rule stays defined, stopped, with the reason in its status.
        tracing::error!(target: "sinkbridge.server", "{e}");
    }
    tracing::info!(
        target: "sinkbridge.server",
        "restored {} stream(s) and {} rule(s) from {} in {:.1?}",
        restored.streams,
        restored.rules,
        settings.data_dir.display(),
        began.elapsed()
    );

    let bind = settings.bind;
    let token = settings.auth_token.is_some();
    let plugins = host.plugins(&settings.plugins_dir);
    let app = rest::router(managed, settings, plugins);
    let served = handle.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        tracing::info!(
            target: "sinkbridge.server",
            "serving the REST API on http://{bind}{}",
            if token { " (a bearer token is required)" } else { "" }
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                if let Err(e) = shutdown_signal().await {
                    tracing::error!(target: "sinkbridge.server", "{e}");
                }
            })
            .await
            .map_err(|e| format!("the REST API failed: {e}"))
    });
    tracing::info!(target: "sinkbridge.server", "stopping: sinks take what is queued, then close");
    engine.stop();
    served
}
