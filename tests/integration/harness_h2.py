# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Just enough HTTP/2 (h2c, prior knowledge) for the tests."""

import socket

class H2Client:
    """Just enough HTTP/2 (cleartext, prior knowledge) to send GET requests
    on one connection and see their answers: no Huffman, no dynamic table
    on our side; answers are recognised by their frames."""

    PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(self.PREFACE + self.frame(4, 0, 0, b""))
        self.next_stream = 1
        self.goaway = None              # (last stream id, error code) once sent
        self.goaways = []               # every GOAWAY, in order
        self.reset = {}                 # stream id: RST_STREAM error code
        self.buf = b""

    @staticmethod
    def frame(ftype, flags, stream, payload):
        return (len(payload).to_bytes(3, "big") + bytes([ftype, flags])
                + stream.to_bytes(4, "big") + payload)

    @staticmethod
    def literal(name, value):
        # literal header field without indexing, new name (RFC 7541 6.2.2)
        name, value = name.encode(), value.encode()
        return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value

    def get(self, path, headers=None):
        """Send a GET; return (status byte seen, body) of its answer.  A
        GOAWAY is noted (self.goaway) and ends the wait unless it lets the
        stream finish; a reset stream is noted in self.reset."""
        sid = self.next_stream
        self.next_stream += 2
        block = b"\x82\x86"                        # :method GET, :scheme http
        block += b"\x04" + bytes([len(path)]) + path.encode()   # :path
        block += b"\x01\x09localhost"               # :authority
        for k, v in (headers or {}).items():
            block += self.literal(k.lower(), v)
        self.sock.sendall(self.frame(1, 0x05, sid, block))   # END_STREAM|END_HEADERS
        status, body = None, b""
        while True:
            ftype, flags, stream, payload = self.read_frame()
            if ftype == 7:                          # GOAWAY
                self.goaway = (int.from_bytes(payload[:4], "big") & 0x7fffffff,
                               int.from_bytes(payload[4:8], "big"))
                self.goaways.append(self.goaway)
                if sid > self.goaway[0]:
                    return status, body
                continue
            if ftype == 4 and not flags & 1:        # SETTINGS: acknowledge
                self.sock.sendall(self.frame(4, 1, 0, b""))
            if stream != sid:
                continue
            if ftype == 3:                          # RST_STREAM
                self.reset[sid] = int.from_bytes(payload[:4], "big")
                return status, body
            if ftype == 1:                          # HEADERS
                status = payload[0]                 # 0x88 is ":status 200"
            elif ftype == 0:                        # DATA
                body += payload
            if flags & 1:                           # END_STREAM
                return status, body

    def read_frame(self):
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            b = self.sock.recv(65536)
            if not b:
                raise ConnectionError("h2 connection closed")
            self.buf += b
        n = int.from_bytes(self.buf[:3], "big")
        ftype, flags = self.buf[3], self.buf[4]
        stream = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
        payload, self.buf = self.buf[9:9 + n], self.buf[9 + n:]
        return ftype, flags, stream, payload

    def close(self):
        self.sock.close()
