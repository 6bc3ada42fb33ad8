//! A tap on one direction of a stream: bytes in, decoded frames printed.

use super::frame::{Direction, Pending, frame_json, frame_text, passes};
use crate::args::Output;
use bytes::BytesMut;
use fastrpc::protocol::{FrameDecoder, Limits};
use std::sync::{Arc, Mutex};

/// Where lines go and which frames are shown.
#[derive(Clone)]
pub(crate) struct Printer {
    /// JSON lines or text lines.
    pub(crate) output: Output,
    /// `Service` or `Service.Method` to show; `None` shows all.
    pub(crate) filter: Option<String>,
}

impl Printer {
    fn line(&self, v: &serde_json::Value) {
        match self.output {
            Output::Json => println!("{v}"),
            Output::Text => println!("{}", frame_text(v)),
        }
    }
}

/// Decodes one direction of one connection. The decoder's frame limit bounds the buffer.
pub(crate) struct Tap {
    conn: u64,
    dir: Direction,
    buf: BytesMut,
    decoder: FrameDecoder,
    pending: Arc<Mutex<Pending>>,
    printer: Printer,
    /// Set once the stream stopped making sense: the bytes are still forwarded, not decoded.
    broken: bool,
}

impl Tap {
    /// A tap for `dir` of connection `conn`; both directions share `pending`.
    pub(crate) fn new(
        conn: u64,
        dir: Direction,
        pending: Arc<Mutex<Pending>>,
        printer: Printer,
    ) -> Tap {
        Tap {
            conn,
            dir,
            buf: BytesMut::new(),
            decoder: FrameDecoder::new(Limits::default()),
            pending,
            printer,
            broken: false,
        }
    }

    /// Feeds bytes that went by and prints every whole frame among them.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        if self.broken {
            return;
        }
        self.buf.extend_from_slice(bytes);
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(m)) => {
                    let name = self
                        .pending
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .name_of(&m);
                    if passes(self.printer.filter.as_deref(), &name) {
                        self.printer
                            .line(&frame_json(self.conn, self.dir, &name, &m));
                    }
                }
                Ok(None) => return,
                Err(e) if e.is_fatal() => {
                    eprintln!(
                        "fastrpc dump: connection #{} {}: not rpcx any more ({e}); forwarding undecoded",
                        self.conn,
                        if self.dir == Direction::ToServer {
                            "->"
                        } else {
                            "<-"
                        }
                    );
                    self.broken = true;
                    self.buf = BytesMut::new();
                    return;
                }
                Err(e) => eprintln!("fastrpc dump: connection #{}: bad frame: {e}", self.conn),
            }
        }
    }
}
