//! Packets out of a capture file: pcap (tcpdump's default) or pcapng (tshark's), as
//! `(link type, bytes)`.

use anyhow::Context as _;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use std::fs::File;
use std::io::{BufReader, Read};

/// The pcapng Section Header Block type, which starts every pcapng file.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Calls `each(link_type, packet)` for every packet of the capture at `path`.
pub(crate) fn for_each_packet(path: &str, mut each: impl FnMut(u32, &[u8])) -> anyhow::Result<()> {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .with_context(|| format!("reading {path}"))?;
    let file = BufReader::new(File::open(path)?);
    if magic == PCAPNG_MAGIC {
        let mut reader = PcapNgReader::new(file).context("not a pcapng file")?;
        let mut links: Vec<u32> = Vec::new();
        while let Some(block) = reader.next_block() {
            match block.context("a damaged pcapng block")? {
                Block::InterfaceDescription(idb) => links.push(u32::from(idb.linktype)),
                Block::EnhancedPacket(epb) => {
                    if let Some(&link) = links.get(epb.interface_id as usize) {
                        each(link, &epb.data);
                    }
                }
                Block::SimplePacket(spb) => {
                    if let Some(&link) = links.first() {
                        each(link, &spb.data);
                    }
                }
                _ => {}
            }
        }
    } else {
        let mut reader = PcapReader::new(file).context("not a pcap or pcapng file")?;
        let link = u32::from(reader.header().datalink);
        while let Some(packet) = reader.next_packet() {
            each(link, &packet.context("a damaged pcap record")?.data);
        }
    }
    Ok(())
}
