//! The size of a frame on the wire, from its decoded parts.

use fastrpc_core::Message;

/// Header (16) plus the four length-prefixed parts, with the payload as decoded (a compressed
/// frame is counted at its uncompressed size).
pub(crate) fn frame_len(msg: &Message) -> u64 {
    let meta: usize = msg
        .metadata
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len())
        .sum();
    (16 + 16 + msg.service_path.len() + msg.service_method.len() + meta + msg.payload.len()) as u64
}
