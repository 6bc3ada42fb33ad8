//! Access lists over real loopback sockets (127.0.0.2 and friends).

use fastrpc_client::{Client, ClientOptions};
use fastrpc_codec::Raw;
use fastrpc_plugins::acl::AccessList;
use fastrpc_server::{Context, Server, ServiceError};
use std::net::SocketAddr;
use std::time::Duration;

/// A client whose connection comes from `source` (any 127.x.y.z works on Linux loopback).
async fn client_from(source: &str, server: SocketAddr) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(server).await.unwrap();
    let opts = ClientOptions::default().default_timeout(Some(Duration::from_secs(20)));
    Client::from_io(stream, server.to_string(), opts)
}

async fn echo(client: &Client) -> Result<Raw, fastrpc_client::ClientError> {
    client.call("Echo", "Echo", &Raw::from(&b"x"[..])).await
}

#[tokio::test]
async fn denied_addresses_are_refused_and_allowed_ones_served() {
    let acl = AccessList::new()
        .allow("127.0.0.0/24")
        .unwrap()
        .deny("127.0.0.3")
        .unwrap();
    let srv = Server::builder()
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .plugin(acl)
        .build();
    // Listen on all of loopback's 127/8 is not possible with one address; 0.0.0.0 would leave
    // loopback, so listen on 127.0.0.1 and vary only the source address.
    let srv = srv.serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = srv.socket_addr().unwrap();

    let allowed = client_from("127.0.0.2", addr).await;
    assert_eq!(&echo(&allowed).await.unwrap()[..], b"x");

    let denied = client_from("127.0.0.3", addr).await;
    let err = echo(&denied).await.unwrap_err();
    assert!(err.is_connection_error(), "{err}");

    // Outside the allow range.
    let outside = client_from("127.0.1.5", addr).await;
    let err = echo(&outside).await.unwrap_err();
    assert!(err.is_connection_error(), "{err}");

    // The server saw only the allowed peer.
    let peers: Vec<String> = srv
        .server()
        .connections()
        .iter()
        .map(|c| c.peer_addr().to_owned())
        .collect();
    assert!(
        peers.iter().all(|p| p.starts_with("127.0.0.2:")),
        "{peers:?}"
    );
    assert_eq!(&echo(&allowed).await.unwrap()[..], b"x");
}
