//! The networks of the optional transport crates, registered when this crate's feature of the
//! same name is on.

use super::registry::Entry;
use std::collections::BTreeMap;

#[allow(unused_variables, clippy::ptr_arg)]
pub(super) fn register_compiled(table: &mut BTreeMap<String, Entry>) {
    #[cfg(feature = "kcp")]
    table.insert("kcp".to_owned(), super::kcp::entry());
    #[cfg(feature = "quic")]
    table.insert("quic".to_owned(), super::quic::entry());
    #[cfg(feature = "http")]
    table.insert("http".to_owned(), super::http::entry());
    #[cfg(feature = "tls")]
    table.insert("tls".to_owned(), super::tls::entry());
    #[cfg(all(unix, feature = "reuseport"))]
    table.insert("reuseport".to_owned(), super::reuseport::entry());
    #[cfg(feature = "ws")]
    {
        table.insert("ws".to_owned(), super::ws::entry(false));
        table.insert("wss".to_owned(), super::ws::entry(true));
    }
}
