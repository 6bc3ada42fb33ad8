//! The server emits a span per call and an event with its outcome.

use fastrpc::{Client, Context, Server, ServiceError};
use std::io::Write;
use std::sync::{Arc, Mutex};

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

#[tokio::test]
async fn server_calls_are_traced_with_service_method_and_outcome() {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded, so the thread default covers every task.
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = Server::builder()
        .handler("Arith", "Half", |_c: Context, n: i64| async move {
            if n % 2 == 0 {
                Ok(n / 2)
            } else {
                Err(ServiceError::new("odd"))
            }
        })
        .build();
    let srv = server.serve_tcp("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&srv.local_addr().to_string())
        .await
        .unwrap();
    assert_eq!(
        client.call::<_, i64>("Arith", "Half", &8i64).await.unwrap(),
        4
    );
    assert!(client.call::<_, i64>("Arith", "Half", &7i64).await.is_err());

    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let finished: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("call finished"))
        .collect();
    assert_eq!(finished.len(), 2, "{text}");
    assert!(
        finished[0].contains("service=\"Arith\"") || finished[0].contains("service=Arith"),
        "{}",
        finished[0]
    );
    assert!(finished[0].contains("method") && finished[0].contains("Half"));
    assert!(finished[0].contains("outcome=\"ok\""), "{}", finished[0]);
    assert!(
        finished[1].contains("outcome=\"error\"") && finished[1].contains("odd"),
        "{}",
        finished[1]
    );
}
