//! The in-process ticker. tokio-cron-scheduler only triggers ticks; it keeps nothing. Ticks
//! never overlap on one node, and every node may run one: the database decides who fires what.

use crate::Engine;
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

/// Starts ticking every `every_seconds` (1–59) and returns the running scheduler; call
/// `shutdown` on it to stop.
pub async fn start(engine: Engine, every_seconds: u32) -> Result<JobScheduler, crate::EngineError> {
    let every = every_seconds.clamp(1, 59);
    let sched = JobScheduler::new()
        .await
        .map_err(|e| crate::EngineError::Config(format!("cannot start the scheduler: {e}")))?;
    let guard = Arc::new(Mutex::new(()));
    let expr = format!("*/{every} * * * * *");
    let job = Job::new_async(expr.as_str(), move |_id, _sched| {
        let engine = engine.clone();
        let guard = guard.clone();
        Box::pin(async move {
            // A tick still running when the next is due: skip this one.
            let Ok(_running) = guard.try_lock() else {
                return;
            };
            let now = engine.now();
            if let Err(e) = engine.tick(now).await {
                tracing::error!(error = %e, "tick failed");
            }
        })
    })
    .map_err(|e| crate::EngineError::Config(format!("bad tick schedule {expr}: {e}")))?;
    sched
        .add(job)
        .await
        .map_err(|e| crate::EngineError::Config(format!("cannot schedule the tick: {e}")))?;
    sched
        .start()
        .await
        .map_err(|e| crate::EngineError::Config(format!("cannot start the scheduler: {e}")))?;
    Ok(sched)
}

/// Starts dispatching the outbox every `every_seconds` (1–59), on the same discipline as the
/// ticks: passes never overlap on one node, and any number of nodes may run one.
pub async fn start_dispatcher(
    dispatcher: crate::dispatch::Dispatcher,
    every_seconds: u32,
) -> Result<JobScheduler, crate::EngineError> {
    let every = every_seconds.clamp(1, 59);
    let sched = JobScheduler::new()
        .await
        .map_err(|e| crate::EngineError::Config(format!("cannot start the scheduler: {e}")))?;
    let guard = Arc::new(Mutex::new(()));
    let expr = format!("*/{every} * * * * *");
    let job = Job::new_async(expr.as_str(), move |_id, _sched| {
        let dispatcher = dispatcher.clone();
        let guard = guard.clone();
        Box::pin(async move {
            let Ok(_running) = guard.try_lock() else {
                return;
            };
            if let Err(e) = dispatcher.dispatch(dispatcher.now()).await {
                tracing::error!(error = %e, "dispatch failed");
            }
        })
    })
    .map_err(|e| crate::EngineError::Config(format!("bad dispatch schedule {expr}: {e}")))?;
    sched
        .add(job)
        .await
        .map_err(|e| crate::EngineError::Config(format!("cannot schedule dispatching: {e}")))?;
    sched
        .start()
        .await
        .map_err(|e| crate::EngineError::Config(format!("cannot start the scheduler: {e}")))?;
    Ok(sched)
}
