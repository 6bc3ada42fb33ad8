//! `unix@/path`: Unix domain stream sockets. The socket file is removed when the listener is
//! dropped (as Go's `UnixListener.Close` does); binding fails if the path exists.

use super::registry::Entry;
use super::{BoxFuture, BoxStream, Dialed, Dialer, Listener, within};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};

pub(super) fn entry() -> Entry {
    Entry {
        listen: Arc::new(
            |addr: String| -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
                Box::pin(async move {
                    let l = UnixListener::bind(&addr)?;
                    Ok(Box::new(Unix {
                        listener: l,
                        path: PathBuf::from(addr),
                        accepted: 0,
                    }) as Box<dyn Listener>)
                })
            },
        ),
        dialer: Arc::new(UnixDialer),
    }
}

struct Unix {
    listener: UnixListener,
    path: PathBuf,
    accepted: u64,
}

impl Listener for Unix {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxStream, String)>> {
        Box::pin(async move {
            let (s, _) = self.listener.accept().await?;
            // Clients of a Unix socket are usually unnamed: number them for logs.
            self.accepted += 1;
            let peer = format!("unix@{}#{}", self.path.display(), self.accepted);
            Ok((Box::new(s) as BoxStream, peer))
        })
    }

    fn local_addr(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for Unix {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct UnixDialer;

impl Dialer for UnixDialer {
    fn dial<'a>(&'a self, addr: &'a str, timeout: Duration) -> BoxFuture<'a, io::Result<Dialed>> {
        Box::pin(async move {
            let s = within(timeout, addr, UnixStream::connect(addr)).await?;
            Ok(Dialed {
                stream: Box::new(s),
                remote: addr.to_owned(),
            })
        })
    }
}
