//! `Server::serve("network@addr")` and `Client::connect("network@addr")` over every network
//! compiled in: the same test body over tcp, tcp4, unix and memu, and over quic, kcp, ws, wss,
//! http (CONNECT) and tls when their features are on
//! (`cargo test -p fastrpc --test networks --features full`). The body: a call, every
//! serialize type (JSON, MessagePack, Protobuf, raw, and Thrift with its feature), 1 MiB and
//! 4 MiB payloads, 100 and then 1,000 concurrent calls on one connection, an error reply,
//! oneway, heartbeats, a client with a wrong auth token, server push, and a graceful shutdown
//! with a call in flight. Also: one server on several networks with one shutdown, an XClient
//! whose discovery list mixes tcp and unix, a network registered by the user, and the errors
//! for unknown and missing networks.

mod support;

#[cfg(feature = "thrift")]
#[path = "../../codec/tests/thrift_types/mod.rs"]
mod thrift_types;

use bytes::Bytes;
use fastrpc::protocol::Message;
use fastrpc::server::{Connection, ServerBuilder, ServerPlugin};
use fastrpc::transport::network::{self, NetworkError};
use fastrpc::{
    CallOptions, Client, ClientError, ClientOptions, Context, FailMode, Metadata,
    MultipleServersDiscovery, Proto, Raw, SelectMode, SerializeType, Server, ServerEntry,
    ServiceError, XClient, XClientOptions,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

/// The token the exercised server accepts.
const TOKEN: &str = "networks-secret";

/// A serde argument, sent as JSON or MessagePack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Pair {
    a: i64,
    b: i64,
    label: String,
}

/// A Protobuf argument and reply.
#[derive(Clone, PartialEq, prost::Message)]
struct PbPair {
    #[prost(int64, tag = "1")]
    a: i64,
    #[prost(int64, tag = "2")]
    b: i64,
}

fn builder(name: &'static str) -> ServerBuilder {
    Server::builder()
        .handler("Echo", "Echo", |_c: Context, b: Raw| async move {
            Ok::<_, ServiceError>(b)
        })
        .handler("Echo", "Fail", |_c: Context, _b: Raw| async move {
            Err::<Raw, _>(ServiceError::new("failed on purpose"))
        })
        .handler("Echo", "Name", move |_c: Context, _b: Raw| async move {
            Ok::<_, ServiceError>(Raw::from(name.as_bytes()))
        })
        .handler("Echo", "Slow", |_c: Context, b: Raw| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, ServiceError>(b)
        })
        .handler("Echo", "Push", |c: Context, b: Raw| async move {
            c.connection()
                .push("Echo", "Pushed", Metadata::new(), Bytes::from(b.to_vec()))
                .await
                .map_err(|e| ServiceError::new(e.to_string()))?;
            Ok::<_, ServiceError>(b)
        })
        .handler("Arith", "Swap", |_c: Context, p: Pair| async move {
            Ok::<_, ServiceError>(Pair {
                a: p.b,
                b: p.a,
                label: p.label,
            })
        })
        .handler(
            "Arith",
            "SwapPb",
            |_c: Context, p: Proto<PbPair>| async move {
                Ok::<_, ServiceError>(Proto(PbPair { a: p.b, b: p.a }))
            },
        )
}

fn server(name: &'static str) -> Server {
    builder(name).build()
}

/// Counts what the exercised server sees that leaves no reply: oneway calls and heartbeats.
#[derive(Clone, Default)]
struct Seen {
    oneway: Arc<AtomicUsize>,
    heartbeats: Arc<AtomicUsize>,
}

impl ServerPlugin for Seen {
    fn heartbeat_request(&self, _conn: &Connection, _msg: &Message) {
        self.heartbeats.fetch_add(1, Ordering::Relaxed);
    }
}

/// The exercised server: every handler, an auth check, and the [`Seen`] counters.
fn exercised_server(seen: &Seen) -> Server {
    let oneway = seen.oneway.clone();
    let b = builder("one");
    #[cfg(feature = "thrift")]
    let b = b.handler(
        "Arith",
        "MulThrift",
        |_c: Context, args: fastrpc::codec::Thrift<thrift_types::Args>| async move {
            Ok::<_, ServiceError>(fastrpc::codec::Thrift(thrift_types::Reply {
                c: args.a.wrapping_mul(args.b),
            }))
        },
    );
    b.handler("Echo", "Note", move |_c: Context, _b: Raw| {
        let oneway = oneway.clone();
        async move {
            oneway.fetch_add(1, Ordering::Relaxed);
            Ok::<_, ServiceError>(Raw::default())
        }
    })
    .plugin(seen.clone())
    .auth(|_msg: &Message, token: &str| {
        if token == TOKEN {
            Ok(())
        } else {
            Err(format!("unknown token {token:?}"))
        }
    })
    .build()
}

fn client_options() -> ClientOptions {
    ClientOptions::default()
        .connect_timeout(PATIENCE)
        .default_timeout(Some(PATIENCE))
        .auth(TOKEN)
}

/// A fresh Unix socket path in the temporary directory.
#[cfg(unix)]
fn unix_path(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir()
        .join(format!("fastrpc-{tag}-{}-{n}.sock", std::process::id()))
        .display()
        .to_string()
}

/// Waits (generously) until `cond` holds.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How long a large payload call may take: KCP at kcp-go's default pace needs about 20 s for
/// 4 MiB each way on an idle machine.
const LARGE_PATIENCE: Duration = Duration::from_secs(240);

/// The shared body: serves `addr`, connects to the address the handle reports, and runs
/// every call shape, then a graceful shutdown with a call in flight.
async fn exercise(addr: &str) {
    let _panics = support::panics::guard();
    let seen = Seen::default();
    let srv = exercised_server(&seen);
    let handle = srv.serve(addr).await.expect("serve");
    let key = handle.addr().to_owned();
    let network = addr.split('@').next().unwrap();
    assert!(key.starts_with(&format!("{network}@")), "{key}");
    let client = Client::connect_with(&key, client_options())
        .await
        .expect("connect");
    let mut pushes = client.take_push_receiver().expect("push receiver");

    // A call.
    let r: Raw = client
        .call("Echo", "Echo", &Raw::from(&b"hello"[..]))
        .await
        .unwrap();
    assert_eq!(&r[..], b"hello");
    assert_eq!(srv.connections().len(), 1);

    serialize_types(&client).await;
    payloads(&client).await;
    concurrent(&client, 100).await;
    concurrent(&client, 1000).await;

    // An error reply; the connection lives on.
    let err = client
        .call::<_, Raw>("Echo", "Fail", &Raw::from(&b"x"[..]))
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().map(|e| e.message.as_str()),
        Some("failed on purpose")
    );

    oneway(&client, &seen).await;
    heartbeat(&key, &seen).await;
    auth_failure(&key).await;
    // A KCP client that closes sends nothing (kcp-go has no FIN): the server drops its side
    // at the dead-link or idle timeout, so only the other networks are checked here.
    if network != "kcp" {
        wait_until("only the main client is left", || {
            srv.connections().len() == 1
        })
        .await;
    }

    // Server push.
    let r: Raw = client
        .call("Echo", "Push", &Raw::from(&b"note"[..]))
        .await
        .unwrap();
    assert_eq!(&r[..], b"note");
    let push = tokio::time::timeout(PATIENCE, pushes.recv())
        .await
        .expect("push in time")
        .expect("a push");
    assert_eq!(push.service_method, "Pushed");
    assert_eq!(&push.payload[..], b"note");

    shutdown_with_a_call_in_flight(&srv, handle, &client, &key, network).await;
}

/// JSON, MessagePack, Protobuf and raw (and Thrift with its feature) on one connection.
async fn serialize_types(client: &Client) {
    let p = Pair {
        a: 1,
        b: -2,
        label: "über".into(),
    };
    for st in [SerializeType::JSON, SerializeType::MSGPACK] {
        let r: Pair = client
            .call_with(
                "Arith",
                "Swap",
                &p,
                CallOptions::default().serialize_type(st),
            )
            .await
            .unwrap_or_else(|e| panic!("{st:?}: {e}"))
            .value;
        assert_eq!((r.a, r.b, r.label.as_str()), (-2, 1, "über"), "{st:?}");
    }
    let r: Proto<PbPair> = client
        .call("Arith", "SwapPb", &Proto(PbPair { a: 7, b: 9 }))
        .await
        .unwrap();
    assert_eq!((r.a, r.b), (9, 7));
    let r: Raw = client
        .call("Echo", "Echo", &Raw::from(vec![0u8, 255, 1]))
        .await
        .unwrap();
    assert_eq!(&r[..], &[0u8, 255, 1]);
    #[cfg(feature = "thrift")]
    {
        use fastrpc::codec::Thrift;
        let r: Thrift<thrift_types::Reply> = client
            .call(
                "Arith",
                "MulThrift",
                &Thrift(thrift_types::Args { a: 6, b: 7 }),
            )
            .await
            .unwrap();
        assert_eq!(r.c, 42);
    }
}

/// 1 MiB, then 4 MiB, both ways, unchanged.
async fn payloads(client: &Client) {
    for len in [1 << 20, 4 << 20] {
        let big: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let r: Raw = client
            .call_with(
                "Echo",
                "Echo",
                &Raw::from(big.clone()),
                CallOptions::default().timeout(LARGE_PATIENCE),
            )
            .await
            .unwrap_or_else(|e| panic!("{len} bytes: {e}"))
            .value;
        assert_eq!(r.len(), big.len());
        assert!(
            r[..] == big[..],
            "a payload of {len} bytes came back changed"
        );
    }
}

/// `n` concurrent calls on the one connection.
async fn concurrent(client: &Client, n: u32) {
    let calls: Vec<_> = (0..n)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let arg = i.to_be_bytes().to_vec();
                let r: Raw = client
                    .call("Echo", "Echo", &Raw::from(arg.clone()))
                    .await
                    .unwrap();
                assert_eq!(&r[..], &arg[..]);
            })
        })
        .collect();
    for c in calls {
        c.await.unwrap();
    }
}

/// A oneway call runs on the server and gets no reply; the connection goes on.
async fn oneway(client: &Client, seen: &Seen) {
    client
        .oneway(
            "Echo",
            "Note",
            &Raw::from(&b"fire"[..]),
            CallOptions::default(),
        )
        .await
        .unwrap();
    wait_until("the oneway call ran", || {
        seen.oneway.load(Ordering::Relaxed) == 1
    })
    .await;
    let r: Raw = client
        .call("Echo", "Echo", &Raw::from(&b"after oneway"[..]))
        .await
        .unwrap();
    assert_eq!(&r[..], b"after oneway");
}

/// A client with heartbeats on: the server sees them, and the client stays connected.
async fn heartbeat(key: &str, seen: &Seen) {
    let before = seen.heartbeats.load(Ordering::Relaxed);
    let c = Client::connect_with(
        key,
        client_options().heartbeat(Duration::from_millis(50), PATIENCE),
    )
    .await
    .unwrap();
    wait_until("two heartbeats reached the server", || {
        seen.heartbeats.load(Ordering::Relaxed) >= before + 2
    })
    .await;
    assert!(!c.is_closed());
    let r: Raw = c
        .call("Echo", "Echo", &Raw::from(&b"beating"[..]))
        .await
        .unwrap();
    assert_eq!(&r[..], b"beating");
    c.close();
    c.closed().await;
}

/// A client with a wrong token is refused with a typed error; others go on.
async fn auth_failure(key: &str) {
    let c = Client::connect_with(key, client_options().auth("wrong"))
        .await
        .unwrap();
    let err = c
        .call::<_, Raw>("Echo", "Echo", &Raw::from(&b"x"[..]))
        .await
        .unwrap_err();
    match network_of(key) {
        // KCP has no close signal (kcp-go sends no FIN), and the client calls a refusal
        // `Unauthenticated` only when the server closes the connection right after it; over
        // KCP the refusal arrives as the server's error reply.
        "kcp" => assert!(
            matches!(&err, ClientError::Remote(e) if e.message.contains("unknown token")),
            "{err:?}"
        ),
        _ => assert!(matches!(err, ClientError::Unauthenticated(_)), "{err:?}"),
    }
    c.close();
    c.closed().await;
}

fn network_of(key: &str) -> &str {
    key.split('@').next().unwrap_or("tcp")
}

/// Graceful shutdown with a call in flight: the call gets its reply, the listener closes.
async fn shutdown_with_a_call_in_flight(
    srv: &Server,
    handle: fastrpc::server::ServerHandle,
    client: &Client,
    key: &str,
    network: &str,
) {
    let slow = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .call::<_, Raw>("Echo", "Slow", &Raw::from(&b"late"[..]))
                .await
        }
    });
    wait_until("the slow call is in flight", || srv.in_flight() == 1).await;
    assert!(handle.shutdown(PATIENCE).await, "shutdown was complete");
    let r = tokio::time::timeout(PATIENCE, slow).await.unwrap().unwrap();
    assert_eq!(&r.expect("the call in flight got its reply")[..], b"late");
    assert_eq!(srv.in_flight(), 0);
    assert_eq!(srv.budget_usage().open_connections, 0);
    // Nothing listens any more (KCP and QUIC are connectionless until the first exchange,
    // so only the stream networks are checked here).
    if matches!(network, "tcp" | "tcp4" | "tcp6" | "unix" | "memu" | "tls") {
        let again = Client::connect_with(key, client_options()).await;
        assert!(
            matches!(again, Err(ClientError::Connect { .. })),
            "{again:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tcp() {
    exercise("tcp@127.0.0.1:0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tcp4() {
    exercise("tcp4@127.0.0.1:0").await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_unix() {
    let path = unix_path("unix");
    exercise(&format!("unix@{path}")).await;
    // The socket file goes away with the listener.
    wait_until("the socket file is removed", || {
        !std::path::Path::new(&path).exists()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_memu() {
    exercise("memu@networks-exercise").await;
}

#[cfg(feature = "quic")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_quic() {
    network::quic::use_development_tls().unwrap();
    exercise("quic@127.0.0.1:0").await;
}

/// KCP at kcp-go's default pace (window 32, 100 ms interval) is slow: the 4 MiB echo takes
/// about 20 s here, and longer on a loaded machine, hence [`LARGE_PATIENCE`] on the payload
/// calls.
#[cfg(feature = "kcp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_kcp() {
    exercise("kcp@127.0.0.1:0").await;
}

#[cfg(feature = "ws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_ws() {
    exercise("ws@127.0.0.1:0").await;
}

#[cfg(feature = "ws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_wss() {
    network::ws::use_development_tls().unwrap();
    exercise("wss@127.0.0.1:0").await;
}

#[cfg(feature = "tls")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls() {
    fastrpc::tls::use_development_tls().unwrap();
    exercise("tls@127.0.0.1:0").await;
}

#[cfg(feature = "http")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_connect() {
    exercise("http@127.0.0.1:0").await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_serves_several_networks_with_one_shutdown() {
    let _panics = support::panics::guard();
    let srv = server("multi");
    let path = unix_path("multi");
    let handles = vec![
        srv.serve("tcp@127.0.0.1:0").await.unwrap(),
        srv.serve(&format!("unix@{path}")).await.unwrap(),
        srv.serve("memu@networks-multi").await.unwrap(),
    ];
    assert!(handles[0].socket_addr().is_some());
    assert_eq!(handles[1].addr(), format!("unix@{path}"));
    assert_eq!(handles[2].addr(), "memu@networks-multi");
    // `local_addr` answers for every network, without panicking.
    assert_eq!(handles[0].local_addr().ip(), handles[0].socket_addr());
    assert_eq!(
        handles[1].local_addr(),
        fastrpc::server::ListenAddr::Unix(path.clone().into())
    );
    assert_eq!(handles[1].local_addr().to_string(), path);
    assert_eq!(handles[2].local_addr().to_string(), "networks-multi");
    assert_eq!(handles[2].local_addr().port(), None);
    let mut clients = Vec::new();
    for h in &handles {
        let c = Client::connect(h.addr()).await.unwrap();
        let r: Raw = c.call("Echo", "Name", &Raw::default()).await.unwrap();
        assert_eq!(&r[..], b"multi");
        clients.push(c);
    }
    assert_eq!(srv.connections().len(), 3);
    // One shutdown closes every listener and every connection.
    assert!(srv.shutdown(PATIENCE).await);
    wait_until("every listener closed", || {
        handles.iter().all(|h| h.is_closed())
    })
    .await;
    for c in &clients {
        tokio::time::timeout(PATIENCE, c.closed())
            .await
            .expect("connection closed by the shutdown");
    }
    for h in &handles {
        let again = Client::connect(h.addr()).await;
        assert!(
            matches!(again, Err(ClientError::Connect { .. })),
            "{}: {again:?}",
            h.addr()
        );
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xclient_discovery_list_mixes_tcp_and_unix() {
    let _panics = support::panics::guard();
    let tcp = server("tcp-server");
    let unix = server("unix-server");
    let th = tcp.serve("tcp@127.0.0.1:0").await.unwrap();
    let uh = unix
        .serve(&format!("unix@{}", unix_path("xclient")))
        .await
        .unwrap();
    let discovery = MultipleServersDiscovery::new([
        ServerEntry::new(th.addr(), ""),
        ServerEntry::new(uh.addr(), ""),
    ]);
    let xc = XClient::new(
        "Echo",
        FailMode::Failfast,
        SelectMode::RoundRobin,
        discovery,
        XClientOptions::default(),
    )
    .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let r: Raw = xc.call("Name", &Raw::default()).await.unwrap();
        seen.insert(String::from_utf8(r.to_vec()).unwrap());
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["tcp-server", "unix-server"]
    );
    xc.close();
    assert!(th.shutdown(PATIENCE).await);
    assert!(uh.shutdown(PATIENCE).await);
}

#[tokio::test]
async fn an_unknown_network_is_a_typed_error_on_both_sides() {
    let err = Client::connect("carrier-pigeon@roof:1").await.unwrap_err();
    match &err {
        ClientError::Network(NetworkError::Unknown {
            network,
            registered,
        }) => {
            assert_eq!(network, "carrier-pigeon");
            assert!(registered.contains("memu") && registered.contains("tcp"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.kind(), fastrpc::ErrorKind::InvalidAddress);
    assert!(!err.is_retryable());
    let err = server("x")
        .serve("carrier-pigeon@roof:1")
        .await
        .unwrap_err();
    assert!(matches!(err, NetworkError::Unknown { .. }), "{err:?}");
}

#[tokio::test]
async fn a_network_whose_feature_is_off_names_the_feature() {
    // A network counts as off when it is not in the registry: Cargo unifies features across
    // a workspace build, so another member (fastrpc-transport-http) may turn on `http`
    // without the facade's feature.
    let registered = network::registered_networks();
    let mut off = Vec::new();
    for (net, feature) in [
        ("quic", "quic"),
        ("kcp", "kcp"),
        ("ws", "ws"),
        ("wss", "ws"),
        ("http", "http"),
        ("tls", "tls"),
        ("reuseport", "reuseport"),
    ] {
        assert_eq!(network::not_compiled_feature(net), Some(feature));
        if !registered.iter().any(|n| n == net) {
            off.push((format!("{net}@127.0.0.1:1"), feature));
        }
    }
    for (addr, feature) in off {
        let addr = addr.as_str();
        let err = Client::connect(addr).await.unwrap_err();
        let ClientError::Network(NetworkError::NotCompiled { feature: f, .. }) = &err else {
            panic!("{addr}: {err:?}");
        };
        assert_eq!(*f, feature);
        assert!(
            err.to_string()
                .contains(&format!("enable the `{feature}` feature")),
            "{err}"
        );
        let err = server("x").serve(addr).await.unwrap_err();
        assert!(
            matches!(err, NetworkError::NotCompiled { feature: f, .. } if f == feature),
            "{addr}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_memu_name_serves_once_at_a_time_and_nothing_answers_an_unused_name() {
    let srv = server("memu");
    let h = srv.serve("memu@networks-taken").await.unwrap();
    let err = srv.serve("memu@networks-taken").await.unwrap_err();
    assert!(
        matches!(&err, NetworkError::Io { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse),
        "{err:?}"
    );
    let err = Client::connect("memu@networks-nobody").await.unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(h.shutdown(PATIENCE).await);
    // The name is free again once its listener has closed.
    let h = srv.serve("memu@networks-taken").await;
    assert!(h.is_ok(), "{h:?}");
}

/// A user's network, as rpcx's `RegisterMakeListener` / `ConnFactories` allow: here `relay@x`
/// is carried over `memu@relay-x`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_network_serves_and_dials() {
    use network::{BoxFuture, Dialed, Dialer, Listener};
    struct Relay;
    impl Dialer for Relay {
        fn dial<'a>(
            &'a self,
            addr: &'a str,
            timeout: Duration,
        ) -> BoxFuture<'a, std::io::Result<Dialed>> {
            Box::pin(async move {
                network::dial(&format!("memu@relay-{addr}"), timeout)
                    .await
                    .map_err(NetworkError::into_io)
            })
        }
    }
    network::register_network(
        "relay",
        |addr: String| -> BoxFuture<'static, std::io::Result<Box<dyn Listener>>> {
            Box::pin(async move {
                network::listen(&format!("memu@relay-{addr}"))
                    .await
                    .map_err(NetworkError::into_io)
            })
        },
        Relay,
    )
    .unwrap();
    assert!(matches!(
        network::register_network(
            "tcp",
            |_: String| -> BoxFuture<'static, std::io::Result<Box<dyn Listener>>> {
                Box::pin(async { Err(std::io::Error::other("no")) })
            },
            Relay
        ),
        Err(NetworkError::Reserved(_))
    ));
    let srv = server("relay");
    let h = srv.serve("relay@a").await.unwrap();
    let c = Client::connect("relay@a").await.unwrap();
    let r: Raw = c.call("Echo", "Name", &Raw::default()).await.unwrap();
    assert_eq!(&r[..], b"relay");
    assert!(h.shutdown(PATIENCE).await);
}

/// A CONNECT to the wrong path, and bytes that are not HTTP, get their answer and harm no
/// other connection of the `http@` listener.
#[cfg(feature = "http")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_connect_refuses_a_wrong_path_and_garbage_without_harm() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _panics = support::panics::guard();
    let srv = server("http");
    let h = srv.serve("http@127.0.0.1:0").await.unwrap();
    let good = Client::connect(h.addr()).await.unwrap();
    let r: Raw = good.call("Echo", "Name", &Raw::default()).await.unwrap();
    assert_eq!(&r[..], b"http");

    let mut wrong = tokio::net::TcpStream::connect(h.socket_addr().unwrap())
        .await
        .unwrap();
    wrong
        .write_all(b"CONNECT /elsewhere HTTP/1.0\n\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(PATIENCE, wrong.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer:?}");

    let mut garbage = tokio::net::TcpStream::connect(h.socket_addr().unwrap())
        .await
        .unwrap();
    garbage.write_all(&[0xff; 64]).await.unwrap();
    garbage.write_all(b"\n\n").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, garbage.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 400"), "{answer:?}");

    let r: Raw = good.call("Echo", "Name", &Raw::default()).await.unwrap();
    assert_eq!(&r[..], b"http");
    assert_eq!(srv.connections().len(), 1);
    assert!(h.shutdown(PATIENCE).await);
}
