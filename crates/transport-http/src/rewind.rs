//! A stream with bytes already read put back in front (defined in `fastrpc-transport`).

pub use fastrpc_transport::http_connect::Rewind;
