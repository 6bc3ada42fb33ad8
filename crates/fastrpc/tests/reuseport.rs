//! `reuseport@addr` (feature `reuseport`): two servers listen on one port with SO_REUSEPORT
//! and the kernel hands connections to both; clients reach them as `tcp@`, as in Go rpcx
//! (there is no reuseport dialer).
//!
//! `cargo test -p fastrpc --test reuseport --features reuseport`
#![cfg(all(unix, feature = "reuseport"))]

mod support;

use fastrpc::{Client, ClientError, Context, Raw, Server, ServiceError};
use std::collections::BTreeSet;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

fn server(name: &'static str) -> Server {
    Server::builder()
        .handler("Echo", "Name", move |_c: Context, _b: Raw| async move {
            Ok::<_, ServiceError>(Raw::from(name.as_bytes()))
        })
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_a_port_and_both_receive_connections() {
    let _panics = support::panics::guard();
    let a = server("a");
    let b = server("b");
    let ha = a.serve("reuseport@127.0.0.1:0").await.unwrap();
    let port = ha.socket_addr().unwrap().port();
    assert_eq!(ha.addr(), format!("reuseport@127.0.0.1:{port}"));
    let hb = b
        .serve(&format!("reuseport@127.0.0.1:{port}"))
        .await
        .expect("a second reuseport listener on the same port");
    assert_eq!(hb.socket_addr().unwrap().port(), port);

    // The kernel spreads connections by their source port: a few dozen fresh connections
    // reach both servers (each new one has an even chance; 400 all landing on one side has a
    // probability of 2^-399).
    let mut seen = BTreeSet::new();
    for _ in 0..400 {
        let c = Client::connect(&format!("tcp@127.0.0.1:{port}"))
            .await
            .unwrap();
        let r: Raw = c.call("Echo", "Name", &Raw::default()).await.unwrap();
        seen.insert(String::from_utf8(r.to_vec()).unwrap());
        c.close();
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["a", "b"]);

    // As in Go, clients have no reuseport dialer.
    let err = Client::connect(&format!("reuseport@127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Connect { source, .. } if source.to_string().contains("dial tcp@")),
        "{err:?}"
    );
    assert!(ha.shutdown(PATIENCE).await);
    // The other server still serves the port alone.
    let c = Client::connect(&format!("tcp@127.0.0.1:{port}"))
        .await
        .unwrap();
    let r: Raw = c.call("Echo", "Name", &Raw::default()).await.unwrap();
    assert_eq!(&r[..], b"b");
    assert!(hb.shutdown(PATIENCE).await);
}

#[tokio::test]
async fn an_ipv6_address_listens_on_tcp6() {
    let srv = server("v6");
    match srv.serve("reuseport@[::1]:0").await {
        Ok(h) => {
            assert!(h.socket_addr().unwrap().is_ipv6());
            assert!(h.shutdown(PATIENCE).await);
        }
        // A machine without IPv6 loopback cannot bind it; that is the OS's answer, not ours.
        Err(e) => assert!(e.to_string().contains("::1"), "{e}"),
    }
}
