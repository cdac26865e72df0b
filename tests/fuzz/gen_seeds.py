#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Write the seed corpora of tests/fuzz/corpus/<target>/ (run from anywhere;
the files are committed, this only documents and regenerates them).

Each seed is a small valid or boundary input in the format its fuzzer
reads (see the comment at the top of tests/fuzz/fuzz_<target>.c)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# id: mode byte, 2-byte maximum (big-endian), value.
def id_seed(value, max_=128, mode=3):
    return bytes([mode]) + struct.pack(">H", max_) + value.encode("latin-1")


for name, value in {
    "sf_string": '"abc"', "bare": "k", "bare_blanks": " \tk-1 \t",
    "escapes": r'"a\"b\\c"', "empty_string": '""', "comma": "a,b",
    "key_255": "k" * 255, "key_256": "k" * 256,
    "sf_255": '"' + "q" * 255 + '"', "sf_256": '"' + "q" * 256 + '"',
    "uuid": "0190e1b2-7c5d-7abc-8def-0123456789ab", "ctl": "a\x01b",
    "unterminated": '"abc', "trailing": '"abc"x', "bad_escape": r'"a\n"',
}.items():
    write("id", name, id_seed(value))
write("id", "max_0", id_seed("abc", 0, 0))
write("id", "max_36", id_seed("a" * 37, 36, 2))

# path: "METHOD TARGET".
for name, line in {
    "parcel_space": "GET /parcels/a%20b", "parcel_slash": "GET /parcels/%2F",
    "double_slash": "GET //x", "dispatch": "POST /parcels/p-1/dispatch",
    "dispatch_get": "GET /parcels/p-1/dispatch", "readyz_check": "HEAD /readyz/db",
    "dotdot": "GET /parcels/..", "dot_pct": "GET /parcels/%2e%2E",
    "delete": "DELETE /healthz", "absolute": "GET http://h:1/parcels/x?y=1#z",
    "root": "GET /", "unclean": "GET /a/./b/../c/", "bad_pct": "GET /parcels/%zz",
    "ctl_pct": "GET /parcels/a%00b", "long_param": "GET /parcels/" + "p" * 128,
    "long_param_129": "GET /parcels/" + "p" * 129,
    "long_pct": "GET /parcels/" + "%41" * 128, "options": "OPTIONS *",
}.items():
    write("path", name, line)


# parse: bounds byte (0: 1024..64M, 2: two 1-byte bounds), then the text.
def parse_seed(text, mode=0, bounds=b""):
    return bytes([mode]) + bounds + text.encode("utf-8")


for i, text in enumerate([
    "0", "1ms", "24h", "1m30s", "25h", "1.5h", "500us", "1000\u00b5s",
    "86400", "86401", "1h1m1s1ms", "0.5ms", "999999ns", "2000000ns",
    "1M", "64KiB", "1023", "1024", "65M", "4096B", "36", "0036",
    "X-Request-ID", "Content-Length", "h" * 65,
]):
    write("parse", "t%02d" % i, parse_seed(text))
write("parse", "small_bounds", parse_seed("5", 2, bytes([1, 200])))
write("parse", "zero_bounds", parse_seed("0K", 2, bytes([0, 0])))

# idem: records in the layout at the top of src/goapi_idem.c.
def record(state, status, headers=(), body=b"", flags=0, claim=1,
           created=1717245296789123, expires=1717245356789123, lease=None):
    """Version 2 (with lease_end), or version 1 when lease is None."""
    out = b"GIR" + bytes([1 if lease is None else 2, state, flags])
    out += struct.pack("<Qqq", claim, created, expires)
    if lease is not None:
        out += struct.pack("<q", lease)
    out += bytes(range(32))                     # fingerprint
    out += struct.pack("<HH", status, len(headers))
    for name, value in headers:
        out += struct.pack("<H", len(name)) + name
        out += struct.pack("<H", len(value)) + value
    return out + struct.pack("<I", len(body)) + body


write("idem", "in_flight", record(1, 0))
write("idem", "completed", record(2, 201, [(b"Content-Type", b"application/json"),
                                            (b"Location", b"/parcels/p-1")],
                                  b'{"id":"p-1"}\n', flags=1))
write("idem", "completed_empty", record(2, 204, flags=1, claim=2**64 - 1,
                                        created=-1, expires=2**63 - 1))
write("idem", "status_599", record(2, 599, [(b"X", b"")], b"\x00\x01"))
write("idem", "v2_in_flight", record(1, 0, lease=1717245356789123,
                                     expires=1717331696789123))
write("idem", "v2_completed", record(2, 201, [(b"Location", b"/parcels/p-1")], b"ok\n",
                                     flags=1, lease=1717245356789123))

# ledger: what (1 overwrite, 2 cut), where (4 bytes, big-endian), bytes.
write("ledger", "cut_to_zero", b"\x02\x00\x00\x00\x00")
write("ledger", "cut_in_meta", b"\x02\x00\x00\x10\x10")
write("ledger", "meta_garbage", b"\x01\x00\x00\x00\x00" + b"\xa5" * 64)
write("ledger", "page_header", b"\x01\x00\x00\x40\x00\x0a")
write("ledger", "page_flags", b"\x01\x00\x00\x50\x0a\x00\x00")
write("ledger", "both", b"\x03\x00\x00\x60\x00" + b"\xff" * 32)

# check_url
for name, url in {
    "tcp": "tcp://127.0.0.1:5432", "http_v6": "http://[::1]:8080/healthz",
    "http_default_port": "http://db.internal/ready?x=1", "tcp_max": "tcp://h:65535",
    "tcp_65536": "tcp://h:65536", "http_port_0": "http://h:0/",
    "tcp_no_port": "tcp://h", "upper": "HTTP://H:1/", "v6_empty": "http://[]/",
    "status_line": "HTTP/1.1 200 OK\r\n",
}.items():
    write("check_url", name, url)

# uuid: 8 seed bytes, then big-endian times.
def uuid_seed(seed, *times):
    return bytes(seed) + b"".join(struct.pack(">q", t) for t in times)


write("uuid", "rfc", uuid_seed([0, 0, 0, 5, 0x3f, 0xff, 0xff, 0xff],
                               1717245296789123, 1717245296789124, 1717245296790000))
write("uuid", "zero", uuid_seed([0] * 8, 0))
write("uuid", "negative", uuid_seed([0xff] * 8, -1, 2**63 - 1))
write("uuid", "wrap", uuid_seed([0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 1], 999, 999, 1000))
write("uuid", "ms_48bit", uuid_seed([1, 2, 3, 4, 5, 6, 7, 8],
                                    (2**48 - 1) * 1000 + 999, 2**48 * 1000))


# trace: a traceparent, tracestate or deadline header value.
TID, PID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
for name, value in {
    "traceparent": "00-%s-%s-01" % (TID, PID),
    "traceparent_future": "cc-%s-%s-01-more" % (TID, PID),
    "traceparent_ows": " \t00-%s-%s-00 " % (TID, PID),
    "traceparent_two": "00-%s-%s-01, 00-%s-%s-01" % (TID, PID, TID, PID),
    "tracestate": "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    "tracestate_ows": "foo=1 \t , \t bar=2,,",
    "tracestate_tenant": "t@v=1,a*b/c_d-e=x y",
    "tracestate_long": ",".join("k%d=%s" % (i, "v" * 100) for i in range(6)),
    "deadline": "1500",
}.items():
    write("trace", name, value)


# redis_url: a mode byte; even: the GoapiIdempotencyStore value; odd: prefix,
# user and suffix around ":<secret>@", split at NULs.
for name, value in {
    "tcp": "redis://app:s3cr%40t@[::1]:6380/2", "tcp_plain": "redis://h",
    "unix": "unix:/run/redis/redis.sock?db=1&user=app&password=p%26w",
    "sentinel": "redis-sentinel://u:p@10.0.0.1:26379,[fe80::1],s3/mymaster/4",
    "rediss": "rediss://:pw@h:6380", "one_slash": "redis:/:pw@h",
    "no_scheme": ":pw@h", "upper": "REDIS://h", "lmdb": "lmdb:/var/lib/x.mdb",
    "bad_port": "redis://:pw@h:99999", "unix_amp": "unix:/s&password=pw",
    "check_query": "http://h/health?token=t&v=1;x",
}.items():
    write("redis_url", name, b"\x00" + value.encode())
for name, parts in {
    "in_tcp": ("redis://", "app", "h:6379/0"),
    "in_rediss": ("rediss://", "", "h"),
    "in_unix_query": ("unix:/s?password=", "", "x"),
    "in_sentinel": ("redis-sentinel://", "u", "s:1/m"),
    "in_bad_escape": ("redis://", "%zz", "h"),
    "in_path": ("redis://h/", "", "0"),
}.items():
    write("redis_url", name, b"\x01" + b"\x00".join(p.encode() for p in parts))
