//! TCP: dialing with a timeout and listening, for `tcp`, `tcp4` and `tcp6` addresses, with the
//! socket settings Go's `net` package applies: keep-alive on every connection (3 min on
//! accepted, 1 min on dialed ones, so dead peers go away), the system's largest listen backlog,
//! and the open-file soft limit raised to the hard limit when a server starts.
//!
//! `socket2` sets the options tokio does not expose (keep-alive time, backlog); `libc` reads and
//! raises `RLIMIT_NOFILE`. Both are the crates tokio itself builds on.

use socket2::{SockRef, Socket, TcpKeepalive};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

/// Keep-alive idle time on accepted connections (Go's `net.ListenConfig` default).
pub const ACCEPTED_KEEPALIVE: Duration = Duration::from_secs(180);
/// Keep-alive idle time on dialed connections (Go's `net.Dialer` default).
pub const DIALED_KEEPALIVE: Duration = Duration::from_secs(60);

/// True for the networks TCP serves (`tcp`, `tcp4`, `tcp6`).
pub fn is_tcp_network(network: &str) -> bool {
    matches!(network, "tcp" | "tcp4" | "tcp6")
}

/// Connects to `addr` within `timeout`, with `TCP_NODELAY` set (frames are already batched)
/// and keep-alive at [`DIALED_KEEPALIVE`].
pub async fn connect(addr: &str, timeout: Duration) -> io::Result<TcpStream> {
    connect_network("tcp", addr, timeout).await
}

/// As [`connect`], for the network `tcp` (any address family), `tcp4` (IPv4 only) or `tcp6`
/// (IPv6 only). The addresses `addr` resolves to are tried in turn.
pub async fn connect_network(
    network: &str,
    addr: &str,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let stream = tokio::time::timeout(timeout, async {
        let mut last = None;
        for a in resolve(network, addr).await? {
            match TcpStream::connect(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
    })
    .await
    .map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connect to {addr} timed out"),
        )
    })??;
    stream.set_nodelay(true)?;
    set_keepalive(&stream, DIALED_KEEPALIVE)?;
    Ok(stream)
}

/// The socket addresses `addr` (`host:port`) resolves to in `network`: every one for `tcp`,
/// the IPv4 ones for `tcp4`, the IPv6 ones for `tcp6`. An error when none is left.
pub async fn resolve(network: &str, addr: &str) -> io::Result<Vec<SocketAddr>> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await?
        .filter(|a| match network {
            "tcp4" => a.is_ipv4(),
            "tcp6" => a.is_ipv6(),
            _ => true,
        })
        .collect();
    if found.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no {network} address for {addr}"),
        ));
    }
    Ok(found)
}

/// As [`bind`], for the network `tcp`, `tcp4` or `tcp6` (see [`resolve`]).
pub async fn bind_network(network: &str, addr: &str) -> io::Result<TcpListener> {
    bind(resolve(network, addr).await?.as_slice()).await
}

/// Prepares an accepted connection: `TCP_NODELAY` and keep-alive at [`ACCEPTED_KEEPALIVE`].
pub fn prepare_accepted(stream: &TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    set_keepalive(stream, ACCEPTED_KEEPALIVE)
}

/// Turns keep-alive on with `idle` as both the idle time and the probe interval (as Go does).
pub fn set_keepalive(stream: &TcpStream, idle: Duration) -> io::Result<()> {
    let ka = TcpKeepalive::new().with_time(idle).with_interval(idle);
    SockRef::from(stream).set_tcp_keepalive(&ka)
}

/// The keep-alive idle time of `stream`, `None` when keep-alive is off.
pub fn keepalive_time(stream: &TcpStream) -> io::Result<Option<Duration>> {
    let s = SockRef::from(stream);
    if !s.keepalive()? {
        return Ok(None);
    }
    s.tcp_keepalive_time().map(Some)
}

/// Binds a listener on `addr` with the largest backlog the system allows
/// ([`listen_backlog`]) and `SO_REUSEADDR` (as Go sets it).
pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        match bind_one(a) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(listen_backlog())?;
    TcpListener::from_std(socket.into())
}

/// The largest listen backlog the system allows: `/proc/sys/net/core/somaxconn` on Linux (as
/// Go reads it), else 4096. The kernel caps larger values itself.
pub fn listen_backlog() -> i32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(4096)
        .min(65535)
}

/// Raises the soft limit on open files to the hard limit (as Go's runtime does at start), so
/// a server is limited by the hard limit, not by a shell's default of 1,024. Returns the
/// soft limit in force afterwards (`None` where there is no such limit).
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid, writable rlimit.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            // SAFETY: `raised` is a valid rlimit; failure leaves the limit unchanged.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
        #[allow(clippy::unnecessary_cast)]
        Some(lim.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_and_dialed_connections_keep_alive_as_go_does() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (dialed, accepted) = tokio::join!(connect(&addr, Duration::from_secs(10)), async {
            listener.accept().await.unwrap().0
        });
        let dialed = dialed.unwrap();
        prepare_accepted(&accepted).unwrap();
        assert_eq!(keepalive_time(&accepted).unwrap(), Some(ACCEPTED_KEEPALIVE));
        assert_eq!(keepalive_time(&dialed).unwrap(), Some(DIALED_KEEPALIVE));
        assert!(accepted.nodelay().unwrap());
    }

    #[test]
    fn backlog_is_the_system_maximum() {
        let b = listen_backlog();
        if let Ok(s) = std::fs::read_to_string("/proc/sys/net/core/somaxconn") {
            assert_eq!(b, s.trim().parse::<i32>().unwrap().min(65535));
        }
        assert!(b >= 128);
    }

    #[test]
    fn fd_soft_limit_is_raised_to_the_hard_limit() {
        let soft = raise_fd_limit().unwrap();
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: valid out pointer.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        #[allow(clippy::unnecessary_cast)]
        let cur = lim.rlim_cur as u64;
        assert_eq!(soft, cur);
        assert_eq!(lim.rlim_cur, lim.rlim_max);
    }
}
