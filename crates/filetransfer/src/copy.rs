//! The one copy loop: a fixed buffer, a progress callback, and an idle timeout per step.

use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Which side of a copy failed.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Reading failed (or stalled).
    Read(io::Error),
    /// Writing failed (or stalled).
    Write(io::Error),
}

/// Runs `fut`, failing with `TimedOut` if it takes longer than `idle`.
pub(crate) async fn idle<T>(
    idle: Duration,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match tokio::time::timeout(idle, fut).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no progress within the idle timeout",
        )),
    }
}

/// Copies `r` to `w` through `buf` until `r` ends, calling `progress` after each chunk is written;
/// returns the bytes copied. Nothing but `buf` holds data in between.
pub(crate) async fn copy_chunks<R, W>(
    r: &mut R,
    w: &mut W,
    buf: &mut [u8],
    idle_timeout: Duration,
    mut progress: impl FnMut(usize),
) -> Result<u64, CopyError>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut total = 0u64;
    loop {
        let n = idle(idle_timeout, r.read(buf))
            .await
            .map_err(CopyError::Read)?;
        if n == 0 {
            break;
        }
        idle(idle_timeout, w.write_all(&buf[..n]))
            .await
            .map_err(CopyError::Write)?;
        total += n as u64;
        progress(n);
    }
    idle(idle_timeout, w.flush())
        .await
        .map_err(CopyError::Write)?;
    Ok(total)
}
