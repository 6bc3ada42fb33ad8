//! Retrying while etcd is unreachable, with the shared [`Backoff`].

use fastrpc_discovery::Backoff;
use fastrpc_discovery::RegistryError;
use std::future::Future;
use std::time::{Duration, Instant};

/// Runs `attempt` until it succeeds, fails with something other than
/// [`Unavailable`](RegistryError::Unavailable), or `budget` has passed (then the last error).
pub(crate) async fn retry_unavailable<T, F, Fut>(
    budget: Duration,
    mut attempt: F,
) -> Result<T, RegistryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RegistryError>>,
{
    let deadline = Instant::now() + budget;
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    loop {
        match attempt().await {
            Err(e) if e.is_unavailable() && Instant::now() < deadline => {
                tokio::time::sleep(backoff.next_delay()).await;
            }
            other => return other,
        }
    }
}
