//! `fastrpc dump`: rpcxdump for fastrpc. Frames are printed one per line, decoded (seq,
//! flags, service, method, metadata, payload as JSON when it decodes, hex otherwise, gzip
//! undone), from a live proxy between a client and a server.

mod frame;
mod proxy;
mod tap;

use crate::args::{DumpArgs, Output};
use tap::Printer;

/// Runs `fastrpc dump`.
pub(crate) async fn run(args: DumpArgs, output: Output) -> anyhow::Result<()> {
    let printer = Printer {
        output,
        filter: args.filter,
    };
    proxy::run(&args.listen, &args.upstream, printer).await
}
