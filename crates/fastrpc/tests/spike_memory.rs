//! Memory a server keeps after a spike of large calls, measured by a counting allocator (the
//! process's own accounting of live heap bytes, not RSS): once the replies are written and the
//! connections are quiet, an idle connection must give back what its large frames needed.

use bytes::{Bytes, BytesMut};
use fastrpc::protocol::{Message, MessageType, SerializeType};
use fastrpc::{Client, Context, Raw, Server, ServiceError};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The system allocator, counting live bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const CONNS: usize = 100;
const BYTES: usize = 1 << 20;

fn request(seq: u64) -> Bytes {
    let mut m = Message::default();
    m.header.set_message_type(MessageType::Request);
    m.header.set_serialize_type(SerializeType::NONE);
    m.header.seq = seq;
    m.service_path = "Echo".into();
    m.service_method = "Echo".into();
    m.payload = Bytes::from(vec![0x5a; BYTES]);
    let mut buf = BytesMut::new();
    m.encode(&mut buf).unwrap();
    buf.freeze()
}

/// Sends one large call on a raw socket and reads the whole reply, keeping nothing but the socket.
async fn one_call(mut s: TcpStream, frame: Bytes) -> TcpStream {
    s.write_all(&frame).await.unwrap();
    let mut head = [0u8; 16];
    s.read_exact(&mut head).await.unwrap();
    let len = u32::from_be_bytes(head[12..16].try_into().unwrap()) as usize;
    let mut rest = vec![0u8; len];
    s.read_exact(&mut rest).await.unwrap();
    assert!(rest.len() > BYTES);
    s
}

fn live_mib() -> f64 {
    LIVE.load(Ordering::Relaxed) as f64 / (1 << 20) as f64
}

fn echo_server() -> Server {
    Server::builder()
        .handler("Echo", "Echo", |_c: Context, p: Raw| async move {
            Ok::<_, ServiceError>(p)
        })
        .build()
}

/// Both tests measure one process-wide heap: they must not overlap.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_server_connections_give_back_large_frames() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = echo_server();
    let srv = server.clone().serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = srv.socket_addr().unwrap();
    let frame = request(1);
    let mut socks = Vec::new();
    for _ in 0..CONNS {
        socks.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = live_mib();
    let calls: Vec<_> = socks
        .into_iter()
        .map(|s| tokio::spawn(one_call(s, frame.clone())))
        .collect();
    let mut socks = Vec::new();
    for c in calls {
        socks.push(c.await.unwrap());
    }
    let after = live_mib();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let idle = live_mib();
    eprintln!("base {base:.1} MiB, after spike {after:.1} MiB, idle {idle:.1} MiB");
    let usage = server.budget_usage();
    assert_eq!(usage.held_bytes(), 0, "{usage:?}");
    drop(socks);
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!("closed {:.1} MiB", live_mib());
    let kept_per_conn = (idle - base) * 1024.0 / CONNS as f64;
    assert!(
        kept_per_conn < 64.0,
        "idle connections keep {kept_per_conn:.0} KiB each after a spike"
    );
    srv.shutdown(Duration::from_secs(1)).await;
}

/// The same spike through fastrpc clients: client and server together give back what the
/// large frames needed once the connections are quiet (the client's outbox and reader too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_client_connections_give_back_large_frames() {
    let _one = ONE_AT_A_TIME.lock().await;
    let srv = echo_server().serve_tcp("127.0.0.1:0").await.unwrap();
    let addr = srv.local_addr().to_string();
    // Half a MiB: under the 1 MiB an outbox used to keep as its spare buffer.
    let payload = Raw::from(vec![0x5a; BYTES / 2]);
    let mut clients = Vec::new();
    for _ in 0..CONNS {
        clients.push(Client::connect(&addr).await.unwrap());
    }
    // One small call each, so every connection's tasks exist before the baseline.
    for c in &clients {
        let _: Raw = c.call("Echo", "Echo", &Raw::from(vec![1u8])).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = live_mib();
    let calls: Vec<_> = clients
        .into_iter()
        .map(|c| {
            let p = payload.clone();
            tokio::spawn(async move {
                let r: Raw = c.call("Echo", "Echo", &p).await.unwrap();
                assert_eq!(r.len(), BYTES / 2);
                c
            })
        })
        .collect();
    let mut clients = Vec::new();
    for c in calls {
        clients.push(c.await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let idle = live_mib();
    eprintln!("clients: base {base:.1} MiB, idle {idle:.1} MiB");
    let kept_per_conn = (idle - base) * 1024.0 / CONNS as f64;
    assert!(
        kept_per_conn < 64.0,
        "idle client and server connections keep {kept_per_conn:.0} KiB each after a spike"
    );
    drop(clients);
    srv.shutdown(Duration::from_secs(1)).await;
}
