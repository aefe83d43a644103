//! The `report-server` binary: parse configuration, open the database, serve until SIGTERM/ctrl-c.

use report_server::bootstrap;
use report_server::config::{Cli, Command};
use report_server::metrics::MetricsAccess;
use report_server::{ApiError, AppState, db, serve, serve_app};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "report-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), ApiError> {
    let config = Cli::load()?.resolve()?;
    // Colours only on a terminal: logs sent to a file or a collector stay plain text.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    tracing::info!(?config, "starting");
    if matches!(config.command, Some(Command::RotateServerKey { .. }))
        && config.server_key.is_none()
    {
        return Err(ApiError::Config(
            "rotate-server-key needs the new key in FRANKING_SERVER_KEY (base64url, 32 bytes) and \
             the key being replaced in FRANKING_PREVIOUS_SERVER_KEY"
                .into(),
        ));
    }
    // The database first: a server that cannot open it writes nothing (no generated key file).
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        ApiError::Config(format!(
            "cannot create data dir {}: {e}",
            config.data_dir.display()
        ))
    })?;
    let (pool, backend) = db::connect_with(
        &config.database_url,
        db::PoolSettings::for_request_timeout(
            config.db_max_connections,
            config.limits.request_timeout,
        ),
    )
    .await?;
    let (server_key, generated) =
        bootstrap::server_key(config.server_key.as_deref(), &config.data_dir)?;
    let server_key = match &config.previous_server_key {
        None => server_key,
        Some(previous) => {
            let previous = report_server::seal::ServerKey::from_base64(previous)
                .map_err(|e| ApiError::Config(format!("FRANKING_PREVIOUS_SERVER_KEY: {e}")))?;
            server_key.with_previous(&previous)?
        }
    };
    if generated {
        say(&format!(
            "dev mode: generated server key in {} (mode 0600); set FRANKING_SERVER_KEY in production",
            config.data_dir.join(bootstrap::SERVER_KEY_FILE).display()
        ));
    }
    if let Some(Command::RotateServerKey {
        batch_size,
        verify_only,
    }) = &config.command
    {
        let result = rotate_server_key(&pool, &server_key, *batch_size, *verify_only).await;
        pool.close().await;
        return result;
    }
    bootstrap::check_server_key(&pool, &server_key).await?;
    if let Some(Command::AuditVerify { checkpoints }) = &config.command {
        let ok = audit_verify(&pool, &server_key, checkpoints.as_deref()).await?;
        pool.close().await;
        return if ok {
            Ok(())
        } else {
            Err(ApiError::Internal("the audit log does not verify".into()))
        };
    }
    if config.production {
        bootstrap::record_production(&pool).await?;
    }
    if let Some(subject) = &config.issue_admin_token {
        // Printed once to stdout for the operator (before the token is committed); never logged.
        let result = bootstrap::issue_admin_announced(&pool, subject, |token| {
            print_secret(&[format!("admin token for {subject:?}: {}", &**token)])
        })
        .await;
        pool.close().await;
        return result;
    }
    if !config.production {
        let outcome = bootstrap::dev_bootstrap(&pool, &server_key, |t| {
            // Printed once, on the first start of an empty database only (before the tokens are
            // committed); never logged.
            print_secret(&[
                format!(
                    "dev bootstrap: network `{}` with stamping key 1",
                    bootstrap::DEV_NETWORK
                ),
                format!("  admin token:     {}", &*t.admin),
                format!("  relay token:     {}", &*t.relay),
                format!("  service token:   {}", &*t.service),
                format!("  moderator token: {}", &*t.moderator),
            ])
        })
        .await?;
        match outcome {
            Ok(()) | Err(bootstrap::NoBootstrap::AlreadyDone) => {}
            Err(why) => tracing::warn!(
                ?why,
                "dev mode on a database that is not empty or was used in production: \
                 no dev bootstrap (no network, key or tokens were created)"
            ),
        }
    }
    let access = MetricsAccess {
        separate_listener: config.metrics_listen.is_some(),
        token: config.metrics_token.clone().map(zeroize::Zeroizing::new),
    };
    let state = AppState::new(pool.clone(), backend, server_key, config.limits.clone())
        .with_metrics_access(access)
        .with_console(config.console.clone());
    let _retention =
        report_server::retention::spawn_configured(state.clone(), config.retention_interval);
    let _webhooks =
        report_server::webhooks::delivery::spawn_configured(&state, config.webhooks.clone());
    // Signal handlers first, so a SIGTERM right after the "listening" line is a graceful stop.
    let stop = shutdown_signal()?;
    let listener = bind(config.listen).await?;
    let metrics_server = match config.metrics_listen {
        Some(addr) => {
            let listener = bind(addr).await?;
            let addr = local_addr(&listener)?;
            say(&format!("report-server metrics on http://{addr}/metrics"));
            let app = report_server::routes::health::metrics_router(state.clone());
            Some(tokio::spawn(serve_app(
                listener,
                app,
                state.limits.clone(),
                stopped(stop.clone()),
            )))
        }
        None => None,
    };
    let addr = local_addr(&listener)?;
    say(&format!("moderator console: http://{addr}/console/"));
    say(&format!("report-server listening on http://{addr}"));
    tracing::info!(%addr, "listening");
    serve(listener, state, stopped(stop))
        .await
        .map_err(|e| ApiError::Internal(format!("server: {e}")))?;
    if let Some(m) = metrics_server {
        let _ = m.await;
    }
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `report-server audit-verify`: print the verification report (JSON) of the audit chains, checked
/// against the checkpoints in `file` if given; true if everything verifies.
async fn audit_verify(
    pool: &sqlx::AnyPool,
    key: &report_server::seal::ServerKey,
    file: Option<&std::path::Path>,
) -> Result<bool, ApiError> {
    use report_server::audit_chain::{self, Checkpoint};
    let checkpoints: Vec<Checkpoint> = match file {
        None => Vec::new(),
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .map_err(|e| ApiError::Config(format!("cannot read {}: {e}", f.display())))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| ApiError::Config(format!("{}: {e}", f.display())))?;
            let list = v.get("checkpoints").cloned().unwrap_or(v);
            serde_json::from_value(list)
                .map_err(|e| ApiError::Config(format!("{}: not checkpoints: {e}", f.display())))?
        }
    };
    let pk = audit_chain::signing_key(key).verifying_key();
    let report = audit_chain::verify(pool, &pk, &checkpoints)
        .await
        .map_err(|e| ApiError::Config(e.to_string()))?;
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| ApiError::Internal(format!("report: {e}")))?;
    println!("{text}");
    Ok(report.ok)
}

/// `report-server rotate-server-key`: re-seal everything under the new key (or only verify),
/// printing the JSON report.
async fn rotate_server_key(
    pool: &sqlx::AnyPool,
    key: &report_server::seal::ServerKey,
    batch_size: u32,
    verify_only: bool,
) -> Result<(), ApiError> {
    use report_server::rotation;
    if batch_size == 0 {
        return Err(ApiError::Config("--batch-size must be at least 1".into()));
    }
    let report = if verify_only {
        rotation::verify(pool, &key.without_previous()).await?
    } else {
        let opts = rotation::RotateOptions {
            batch_size,
            stop_after_batches: None,
        };
        rotation::rotate(pool, key, &opts).await?
    };
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| ApiError::Internal(format!("report: {e}")))?;
    say(&text);
    Ok(())
}

async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, ApiError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ApiError::Config(format!("cannot listen on {addr}: {e}")))
}

fn local_addr(l: &tokio::net::TcpListener) -> Result<std::net::SocketAddr, ApiError> {
    l.local_addr().map_err(|e| ApiError::Config(e.to_string()))
}

/// Resolves once `stop` reports the shutdown signal.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Print an informational line to stdout; a closed or broken stdout is not an error (`println!`
/// would panic).
fn say(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Print lines holding secrets (tokens) to stdout and flush; the error (a closed stdout) makes the
/// caller roll back the creation of the secrets.
fn print_secret(lines: &[String]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// Install the ctrl-c and SIGTERM handlers now; the receiver turns `true` when either arrives
/// (the servers then stop accepting, finish in-flight requests and close the rest after
/// `--shutdown-timeout-secs`).
fn shutdown_signal() -> Result<watch::Receiver<bool>, ApiError> {
    let (tx, rx) = watch::channel(false);
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| ApiError::Config(format!("cannot install the SIGTERM handler: {e}")))?;
    tokio::spawn(async move {
        #[cfg(unix)]
        let term = async {
            term.recv().await;
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            () = term => {},
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
        let _ = tx.send(true);
    });
    Ok(rx)
}
