#!/usr/bin/env python3
"""Golden vectors for fastrpc-transport-kcp, from sources independent of the Rust code.

- AES-CFB (128-bit feedback) under kcp-go's fixed IV: Python's `cryptography` package.
- CRC32 (IEEE): `zlib.crc32`.
- The rpcx example key: `hashlib.pbkdf2_hmac('sha1', b'rpcx-key', b'rpcx-salt', 4096, 32)`.
- Reed-Solomon parity: klauspost/reedsolomon's default matrix (a Vandermonde matrix times the
  inverse of its top square, over GF(2^8) with polynomial 0x11d), written out here from its
  definition, not taken from the Rust crate.
- Datagrams built byte by byte the way kcp-go v5 writes them (rpcx-protocol.md section 3.6).

Run `python3 make_vectors.py > vectors.txt` (needs `pip install cryptography`). Output lines are
`name hex`; the Rust tests read them, so they do not need Python.
"""

import hashlib
import struct
import zlib

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 47 moved CFB here
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # older releases
    from cryptography.hazmat.primitives.ciphers.modes import CFB

IV = bytes([167, 115, 79, 156, 18, 172, 27, 1, 164, 21, 242, 193, 252, 120, 230, 107])
KEY = hashlib.pbkdf2_hmac("sha1", b"rpcx-key", b"rpcx-salt", 4096, 32)


def cfb(key, data):
    enc = Cipher(algorithms.AES(key), CFB(IV)).encryptor()
    return enc.update(data) + enc.finalize()


# --- GF(2^8) and klauspost's encoding matrix -------------------------------------------------

EXP = [0] * 512
LOG = [0] * 256
x = 1
for i in range(255):
    EXP[i] = x
    LOG[x] = i
    x <<= 1
    if x & 0x100:
        x ^= 0x11D
for i in range(255, 512):
    EXP[i] = EXP[i - 255]


def gmul(a, b):
    if a == 0 or b == 0:
        return 0
    return EXP[LOG[a] + LOG[b]]


def gexp(a, n):
    if n == 0:
        return 1
    if a == 0:
        return 0
    return EXP[(LOG[a] * n) % 255]


def ginv(a):
    return EXP[255 - LOG[a]]


def mat_mul(a, b):
    return [
        [
            _xor_all(gmul(a[r][k], b[k][c]) for k in range(len(b)))
            for c in range(len(b[0]))
        ]
        for r in range(len(a))
    ]


def _xor_all(values):
    out = 0
    for v in values:
        out ^= v
    return out


def mat_inv(m):
    n = len(m)
    aug = [row[:] + [1 if i == j else 0 for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if aug[r][col] != 0)
        aug[col], aug[pivot] = aug[pivot], aug[col]
        inv = ginv(aug[col][col])
        aug[col] = [gmul(v, inv) for v in aug[col]]
        for r in range(n):
            if r != col and aug[r][col] != 0:
                f = aug[r][col]
                aug[r] = [v ^ gmul(f, p) for v, p in zip(aug[r], aug[col])]
    return [row[n:] for row in aug]


def rs_matrix(data, parity):
    total = data + parity
    vm = [[gexp(r, c) for c in range(data)] for r in range(total)]
    return mat_mul(vm, mat_inv([row[:] for row in vm[:data]]))


MATRIX = rs_matrix(10, 3)


def parity_shards(shards):
    size = max(len(s) for s in shards)
    shards = [s + bytes(size - len(s)) for s in shards]
    out = []
    for row in MATRIX[10:]:
        p = bytearray(size)
        for j, s in enumerate(shards):
            c = row[j]
            for k in range(size):
                p[k] ^= gmul(c, s[k])
        out.append(bytes(p))
    return out


# --- kcp-go datagrams ------------------------------------------------------------------------


def kcp_push(conv, sn, payload, ts=1000, wnd=32, una=0, frg=0):
    return struct.pack("<IBBHIIII", conv, 81, frg, wnd, ts, sn, una, len(payload)) + payload


def seal(nonce, fec_part, key):
    """nonce | crc32(fec_part) LE | fec_part, then AES-CFB over all of it (key None = none)."""
    plain = nonce + struct.pack("<I", zlib.crc32(fec_part)) + fec_part
    return cfb(key, plain) if key else plain


def data_shard(seqid, kcp):
    body = struct.pack("<H", len(kcp) + 2) + kcp
    return struct.pack("<IH", seqid, 0xF1) + body, body


def parity_shard(seqid, p):
    return struct.pack("<IH", seqid, 0xF2) + p


def main():
    out = []

    def emit(name, b):
        out.append(f"{name} {b.hex()}")

    emit("rpcx_example_key", KEY)
    plain_odd = bytes((i * 7 + 3) & 0xFF for i in range(37))
    plain_mtu = bytes((i * 13 + 1) & 0xFF for i in range(1400))
    emit("plain_37", plain_odd)
    emit("plain_1400", plain_mtu)
    for n in (16, 24, 32):
        key = bytes(range(1, n + 1))
        emit(f"key_{n}", key)
        emit(f"cfb_{n}_37", cfb(key, plain_odd))
        emit(f"cfb_{n}_1400", cfb(key, plain_mtu))
    emit("cfb_rpcx_1400", cfb(KEY, plain_mtu))

    for name, data in [("empty", b""), ("digits", b"123456789"), ("plain_1400", plain_mtu)]:
        emit(f"crc_{name}", struct.pack("<I", zlib.crc32(data)))

    # One hand-built datagram carrying "hello", as kcp-go would send the first write of a
    # session with conv 0x11223344: AES (rpcx example key) and none.
    nonce = bytes(range(0x40, 0x50))
    fec_part, _ = data_shard(0, kcp_push(0x11223344, 0, b"hello"))
    emit("hello_aes", seal(nonce, fec_part, KEY))
    emit("hello_none", seal(nonce, fec_part, None))

    # A whole FEC group: 10 data shards (sn 0..9, conv 0x0A0B0C0D, payloads of different
    # lengths) and their 3 parity shards, AES under the rpcx example key.
    conv = 0x0A0B0C0D
    bodies = []
    for sn in range(10):
        payload = bytes(((sn + 1) * 17 + i) & 0xFF for i in range(20 + sn * 37))
        emit(f"group_payload_{sn}", payload)
        fec, body = data_shard(sn, kcp_push(conv, sn, payload))
        bodies.append(body)
        emit(f"group_shard_{sn}", seal(bytes([sn]) * 16, fec, KEY))
    for i, p in enumerate(parity_shards(bodies)):
        emit(f"group_parity_plain_{i}", p)
        emit(f"group_shard_{10 + i}", seal(bytes([10 + i]) * 16, parity_shard(10 + i, p), KEY))
    for i, body in enumerate(bodies):
        emit(f"group_body_{i}", body)

    print("\n".join(out))


if __name__ == "__main__":
    main()
