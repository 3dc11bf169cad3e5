#!/usr/bin/env python3
"""Kafka readiness probe: one Metadata (v1) request over the wire, standard library only.

Exits 0 and prints the brokers when the broker answers with at least one broker in its metadata
(which KRaft brokers only do once they have caught up with the controller), 1 otherwise.
Starting a JVM tool (kafka-topics) for this would take seconds per try.

usage: probe.py [HOST:PORT]   (default 127.0.0.1:9092)
"""
import socket
import struct
import sys


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return buf


def metadata(host, port, timeout=2.0):
    client_id = b"ow-services-probe"
    # request header v1: api_key=3 (Metadata), api_version=1, correlation_id, client_id
    header = struct.pack(">hhih", 3, 1, 7, len(client_id)) + client_id
    body = struct.pack(">i", 0)  # v1: empty topic array = no topics, brokers only
    request = header + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", read_exact(sock, 4))
        data = read_exact(sock, size)

    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string():
        nonlocal pos
        n = take(">h")
        if n < 0:
            return None
        s = data[pos : pos + n].decode()
        pos += n
        return s

    if take(">i") != 7:
        raise ValueError("unexpected correlation id")
    brokers = []
    for _ in range(take(">i")):
        node_id = take(">i")
        bhost = string()
        bport = take(">i")
        string()  # rack
        brokers.append((node_id, bhost, bport))
    controller = take(">i")
    return brokers, controller


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"
    host, port = target.rsplit(":", 1)
    try:
        brokers, controller = metadata(host, int(port))
    except (OSError, ValueError, struct.error) as e:
        print(f"kafka {target}: {e}", file=sys.stderr)
        return 1
    if not brokers:
        print(f"kafka {target}: no brokers in metadata yet", file=sys.stderr)
        return 1
    listed = ", ".join(f"{n}@{h}:{p}" for n, h, p in brokers)
    print(f"kafka {target}: brokers [{listed}], controller {controller}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
