//! `fastrpc dump`: rpcxdump for fastrpc. Frames are printed one per line, decoded (seq,
//! flags, service, method, metadata, payload as JSON when it decodes, hex otherwise, gzip
//! undone), from a live proxy between a client and a server, or from a capture file.

mod capture;
mod frame;
mod pcap;
mod proxy;
mod reassembly;
mod tap;

use crate::args::{DumpArgs, Output};
use tap::Printer;

/// Runs `fastrpc dump`.
pub(crate) async fn run(args: DumpArgs, output: Output) -> anyhow::Result<()> {
    let printer = Printer {
        output,
        filter: args.filter,
    };
    if let Some(path) = &args.pcap {
        return pcap::run(path, args.port, printer);
    }
    match (&args.listen, &args.upstream) {
        (Some(listen), Some(upstream)) => proxy::run(listen, upstream, printer).await,
        _ => anyhow::bail!("give --pcap FILE, or both --listen and --upstream"),
    }
}
