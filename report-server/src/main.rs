//! The `report-server` binary: parse configuration, open the database, serve until SIGTERM/ctrl-c.

use clap::Parser as _;
use report_server::bootstrap;
use report_server::config::{Cli, Command};
use report_server::{ApiError, AppState, db, serve};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("report-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), ApiError> {
    let config = Cli::parse().resolve()?;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    tracing::info!(?config, "starting");
    let (server_key, generated) =
        bootstrap::server_key(config.server_key.as_deref(), &config.data_dir)?;
    if generated {
        println!(
            "dev mode: generated server key in {} (mode 0600); set FRANKING_SERVER_KEY in production",
            config.data_dir.join(bootstrap::SERVER_KEY_FILE).display()
        );
    }
    let (pool, backend) = db::connect(&config.database_url, config.db_max_connections).await?;
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
    if let Some(subject) = &config.issue_admin_token {
        let token = bootstrap::issue_admin(&pool, subject).await?;
        // Printed once to stdout for the operator; never logged.
        println!("admin token for {subject:?}: {}", &*token);
        pool.close().await;
        return Ok(());
    }
    if !config.production
        && let Some(t) = bootstrap::dev_bootstrap(&pool, &server_key).await?
    {
        // Printed once, on the first start of this database only; never logged.
        println!(
            "dev bootstrap: network `{}` with stamping key 1",
            bootstrap::DEV_NETWORK
        );
        println!("  admin token:     {}", &*t.admin);
        println!("  relay token:     {}", &*t.relay);
        println!("  service token:   {}", &*t.service);
        println!("  moderator token: {}", &*t.moderator);
    }
    let state = AppState::new(pool.clone(), backend, server_key, config.limits.clone());
    let _retention = report_server::retention::spawn_from_env(state.clone());
    let _webhooks = report_server::webhooks::delivery::spawn_from_env(&state);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ApiError::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ApiError::Config(e.to_string()))?;
    println!("report-server listening on http://{addr}");
    tracing::info!(%addr, "listening");
    serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| ApiError::Internal(format!("server: {e}")))?;
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

/// Resolves on ctrl-c or SIGTERM; axum then stops accepting and finishes in-flight requests.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
