//! `duban serve [--demo]`: migrate (unless configured not to), optionally load the demo
//! register, then serve HTTP until SIGINT or SIGTERM.

use super::Context;
use anyhow::Context as _;
use duban_http::AppState;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Load the demo register into the database if the register is empty.
    #[arg(long)]
    demo: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    // Working days and quiet hours come from here; a broken file stops the start, a missing
    // year is announced because it silently turns holidays into working days.
    let calendar = ctx.calendar()?;
    ctx.settings.quiet_hours()?;
    if let Some(w) = calendar.coverage_warning(ctx.now().date_naive() + chrono::Duration::days(366))
    {
        tracing::warn!("{w}");
    }
    // SMS providers send only approved templates: a step without one would fail every send.
    let (sms_errors, sms_warnings) =
        duban_app::workflows::sms_template_findings(&ctx.settings.notify, &ctx.workflow_set()?);
    for w in &sms_warnings {
        tracing::warn!("{w}");
    }
    anyhow::ensure!(
        sms_errors.is_empty(),
        "the SMS provider has no template for some steps; run `duban workflows check`:\n{}",
        sms_errors.join("\n")
    );
    let store = ctx.pool().await?;
    if ctx.settings.database.migrate_on_start {
        store
            .migrate_up(None)
            .await
            .context("migrating the database")?;
    } else {
        let pending = store.pending_migrations().await?;
        anyhow::ensure!(
            pending.is_empty(),
            "{} pending migration(s) and database.migrate_on_start is false: run `duban migrate up`",
            pending.len()
        );
    }
    tracing::info!(
        backend = %store.backend(),
        schema = store.schema_version().await?.as_deref().unwrap_or("none"),
        "database ready"
    );
    let engine = ctx.engine_on(store.clone(), None).await?;
    let app = ctx.app(engine.clone())?;
    if args.demo {
        load_demo(&app, ctx).await?;
    }
    if !app.has_users().await? {
        tracing::warn!(
            "no user can sign in yet: make the first administrator with `duban users add <name> --role administrator`"
        );
    }
    let scheduler = if ctx.settings.engine.enabled {
        let s =
            duban_engine::runner::start(engine.clone(), ctx.settings.engine.tick_seconds).await?;
        tracing::info!(node = %engine.config.node_id, every_seconds = ctx.settings.engine.tick_seconds, "engine running");
        Some(s)
    } else {
        tracing::info!("engine disabled (engine.enabled = false): serving HTTP only");
        None
    };
    let dispatcher = if ctx.settings.engine.enabled {
        let d = ctx.dispatcher(store.clone())?;
        let s = duban_engine::runner::start_dispatcher(d, ctx.settings.engine.tick_seconds).await?;
        tracing::info!(
            email = ctx.settings.notify.email_provider(),
            sms = ctx.settings.notify.sms_provider(),
            "dispatcher running"
        );
        Some(s)
    } else {
        None
    };
    // Expired sessions and idempotency keys are forgotten every hour.
    let housekeeping = tokio::spawn({
        let app = app.clone();
        async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every.tick().await;
                match app.housekeeping().await {
                    Ok(h) if h.sessions + h.idempotency_keys > 0 => tracing::info!(
                        sessions = h.sessions,
                        idempotency_keys = h.idempotency_keys,
                        "expired sessions and idempotency keys removed"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "removing expired sessions failed; retried in an hour")
                    }
                }
            }
        }
    });
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;

    let router = duban_http::router(
        AppState::new(app)
            .with_metrics(metrics)
            .with_secure_cookies(ctx.settings.auth.secure_cookies)
            .with_public_url(&ctx.settings.engine.link_base),
    );
    let bind = ctx.settings.http.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (http.bind)"))?;
    tracing::info!(address = %listener.local_addr()?, "duban is serving");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("shutting down");
    housekeeping.abort();
    if let Some(mut s) = dispatcher
        && let Err(e) = s.shutdown().await
    {
        tracing::warn!(error = %e, "stopping the dispatcher");
    }
    if let Some(mut s) = scheduler {
        // The tick in progress finishes its batch; leases cover anything cut short.
        if let Err(e) = s.shutdown().await {
            tracing::warn!(error = %e, "stopping the scheduler");
        }
    }
    store.close().await?;
    Ok(ExitCode::SUCCESS)
}

async fn load_demo(app: &duban_app::App, ctx: &Context) -> anyhow::Result<()> {
    if !app.register_is_empty().await? {
        tracing::info!("the register is not empty; the demo data is not loaded");
        return Ok(());
    }
    let file = &ctx.settings.register.demo_file;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let actor = duban_app::Actor::command_line("demo");
    let s = app
        .import_register(
            &actor,
            &file.to_string_lossy(),
            &bytes,
            Default::default(),
            false,
        )
        .await
        .map_err(|e| invalid_demo(file, e))?;
    tracing::info!(
        organisations = s.organisations.created,
        units = s.units.created,
        people = s.people.created,
        "demo register loaded"
    );
    load_demo_members(app, &file.with_file_name("members.csv")).await
}

/// The demo roster beside the demo register (`members.csv`), when there is one.
async fn load_demo_members(app: &duban_app::App, file: &std::path::Path) -> anyhow::Result<()> {
    let Ok(bytes) = std::fs::read(file) else {
        return Ok(());
    };
    let actor = duban_app::Actor::command_line("demo");
    let done = app
        .import_members(
            &actor,
            &file.to_string_lossy(),
            &bytes,
            Default::default(),
            false,
        )
        .await
        .map_err(|e| invalid_demo(file, e))?;
    tracing::info!(members = done.created, "demo members loaded");
    Ok(())
}

/// A demo file the import refused: its first bad cells.
fn invalid_demo(file: &std::path::Path, e: duban_app::AppError) -> anyhow::Error {
    match e {
        duban_app::AppError::Rows(errors) => {
            let first: Vec<String> = errors.iter().take(5).map(|e| e.to_string()).collect();
            anyhow::anyhow!(
                "the demo file {} is invalid: {}",
                file.display(),
                first.join("; ")
            )
        }
        e => e.into(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
