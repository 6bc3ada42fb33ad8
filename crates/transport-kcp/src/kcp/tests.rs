use super::*;
use crate::kcp::control::{InputError, Tuning};

fn tuning() -> Tuning {
    Tuning {
        nodelay: false,
        interval: 100,
        resend: 0,
        no_congestion: false,
        snd_wnd: 32,
        rcv_wnd: 32,
        mtu: 1400,
        reserved: 28,
        dead_link: 20,
    }
}

/// Moves every packet `from` emitted into `to`, minus the reserved header, dropping those
/// `lose` picks.
fn deliver(from: &mut Kcp, to: &mut Kcp, lose: &mut impl FnMut() -> bool) {
    for p in from.take_output() {
        assert!(p.len() <= 1400);
        if !lose() {
            to.input(&p[28..]).unwrap();
        }
    }
}

#[test]
fn messages_cross_a_lossy_link_in_order() {
    let (mut a, mut b) = (Kcp::new(7, tuning()), Kcp::new(7, tuning()));
    let msgs: Vec<Vec<u8>> = (0..200).map(|i| vec![i as u8; 1 + i * 13 % 1348]).collect();
    let mut queued = 0;
    let mut got = Vec::new();
    let mut n = 0u32;
    let mut lose = move || {
        n = n.wrapping_mul(1_103_515_245).wrapping_add(12345);
        n >> 16 & 7 == 0
    };
    let mut now = 0u32;
    while got.len() < msgs.len() {
        now = now.wrapping_add(10);
        while queued < msgs.len() && a.wait_snd() < 32 {
            a.send(&msgs[queued]).unwrap();
            queued += 1;
        }
        a.update(now);
        b.update(now);
        deliver(&mut a, &mut b, &mut lose);
        deliver(&mut b, &mut a, &mut lose);
        let mut m = Vec::new();
        while b.recv(&mut m).is_some() {
            got.push(std::mem::take(&mut m));
        }
        assert!(now < 600_000, "stalled at {} of {}", got.len(), msgs.len());
        assert!(!a.is_dead());
    }
    assert_eq!(got, msgs);
}

#[test]
fn peer_chosen_numbers_at_the_extremes_do_not_panic() {
    let mut k = Kcp::new(1, tuning());
    k.update(5);
    for (sn, ts, una) in [
        (0x8000_0000u32, 0x8000_0000u32, 0x7fff_ffffu32),
        (u32::MAX, 0, u32::MAX),
        (0x7fff_ffff, u32::MAX, 0x8000_0001),
    ] {
        for cmd in [81u8, 82, 83, 84] {
            let mut p = Vec::new();
            segment::Header {
                conv: 1,
                cmd,
                frg: 255,
                wnd: u16::MAX,
                ts,
                sn,
                una,
                len: 0,
            }
            .encode(&mut p);
            let _ = k.input(&p);
        }
        k.update(ts);
        k.flush();
    }
    let mut p = Vec::new();
    segment::Header {
        conv: 1,
        cmd: 81,
        len: u32::MAX,
        ..Default::default()
    }
    .encode(&mut p);
    assert_eq!(k.input(&p), Err(InputError::Truncated));
    p[4] = 99;
    p[20..24].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(k.input(&p), Err(InputError::UnknownCmd));
    p[0] = 2;
    assert_eq!(k.input(&p), Err(InputError::WrongConv));
}

#[test]
fn a_message_of_many_fragments_is_reassembled() {
    let (mut a, mut b) = (Kcp::new(3, tuning()), Kcp::new(3, tuning()));
    let msg: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    a.send(&msg).unwrap();
    assert!(a.send(&vec![0; 1348 * 256]).is_err());
    let mut got = Vec::new();
    let mut now = 0;
    while b.recv(&mut got).is_none() {
        now += 100;
        a.update(now);
        b.update(now);
        deliver(&mut a, &mut b, &mut || false);
        deliver(&mut b, &mut a, &mut || false);
        assert!(now < 60_000);
    }
    assert_eq!(got, msg);
}
