//! A caught handler panic is one rate-limited ERROR line, without the panic hook's output; a
//! panic anywhere else still reaches the hook installed before the server's.
//! (Alone in its binary: it installs the process's panic hook and tracing subscriber.)

use fastrpc::{Client, Context, Server, ServiceError};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_panic_is_one_rate_limited_error_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    // The hook a test harness (or an application) had before the server's.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));

    let server = Server::builder()
        .handler("Bad", "Panic", |_c: Context, n: u8| async move {
            if n > 0 {
                panic!("boom {n}");
            }
            Ok::<u8, ServiceError>(0)
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    let started = Instant::now();
    for _ in 0..20 {
        let e = client
            .call::<_, u8>("Bad", "Panic", &7u8)
            .await
            .unwrap_err();
        assert!(
            e.as_service_error()
                .unwrap()
                .message
                .starts_with("[service internal error]: boom 7"),
            "{e}"
        );
    }
    let elapsed = started.elapsed();
    assert_eq!(
        HOOK_CALLS.load(Ordering::SeqCst),
        0,
        "handler panics reached the panic hook"
    );
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("service panicked"))
        .collect();
    assert!(!lines.is_empty(), "no log line:\n{text}");
    assert!(
        lines.len() as u64 <= 1 + elapsed.as_secs(),
        "{} lines in {elapsed:?}:\n{text}",
        lines.len()
    );
    assert!(lines.iter().all(|l| l.contains("ERROR")));
    assert!(!text.contains("stack backtrace"), "{text}");

    // A panic outside handlers still reaches the previous hook.
    let other = std::thread::spawn(|| panic!("elsewhere")).join();
    assert!(other.is_err());
    assert_eq!(HOOK_CALLS.load(Ordering::SeqCst), 1);
    drop(srv);
    tokio::time::sleep(Duration::from_millis(1)).await;
}
