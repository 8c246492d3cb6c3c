#!/usr/bin/env python3
"""Builds and holds a socket table for tests, inside whatever network
namespace it runs in (`ip netns exec NAME python3 holder.py`).

Node cannot leave connections un-accepted or set SO_RCVBUF before connect, so
fixtures are made here. One JSON command per stdin line, one JSON reply per
stdout line: {"ok": true, ...} or {"ok": false, "error": "..."}.
"""
import errno
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time

sockets = {}
next_id = [1]


def keep(sock):
    sid = next_id[0]
    next_id[0] += 1
    sockets[sid] = sock
    return sid


def family_of(cmd):
    return socket.AF_INET6 if cmd.get("family") == "inet6" else socket.AF_INET


def listen(cmd):
    # "mptcp": an MPTCP listener (its subflows show up in the TCP dump).
    proto = socket.IPPROTO_MPTCP if cmd.get("mptcp") else 0
    s = socket.socket(family_of(cmd), socket.SOCK_STREAM, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family_of(cmd) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if cmd.get("v6only", True) else 0)
    if cmd.get("keepalive"):
        # Accepted sockets inherit SO_KEEPALIVE, and with it the keepalive timer.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.bind((cmd.get("host", "127.0.0.1"), cmd.get("port", 0)))
    s.listen(cmd.get("backlog", 128))
    return {"id": keep(s), "port": s.getsockname()[1]}


def connect(cmd):
    """Non-blocking connects: a full accept queue must not hang the holder."""
    ids, ports = [], []
    for _ in range(cmd.get("count", 1)):
        s = socket.socket(family_of(cmd), socket.SOCK_STREAM)
        if cmd.get("keepalive"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if "keepidle" in cmd:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, cmd["keepidle"])
        if "rcvbuf" in cmd:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, cmd["rcvbuf"])
        if "bind" in cmd:
            s.bind((cmd["bind"], cmd.get("bindPort", 0)))
        s.setblocking(False)
        code = s.connect_ex((cmd["host"], cmd["port"]))
        if code not in (0, errno.EINPROGRESS):
            s.close()
            if cmd.get("tolerant"):
                break
            raise OSError(code, "connect: " + errno.errorcode.get(code, str(code)))
        ids.append(keep(s))
        ports.append(s.getsockname()[1])
    if cmd.get("wait", True):
        deadline = time.time() + cmd.get("timeout", 5)
        pending = [sockets[i] for i in ids]
        while pending and time.time() < deadline:
            _, writable, _ = select.select([], pending, [], 0.1)
            pending = [s for s in pending if s not in writable]
    return {"ids": ids, "ports": ports}


def accept(cmd):
    listener = sockets[cmd["id"]]
    listener.settimeout(cmd.get("timeout", 5))
    ids, ports = [], []
    for _ in range(cmd.get("count", 1)):
        conn, peer = listener.accept()
        if "rcvbuf" in cmd:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, cmd["rcvbuf"])
        ids.append(keep(conn))
        ports.append(peer[1])
    return {"ids": ids, "peerPorts": ports}


def send(cmd):
    """Sends `bytes` (in `chunk`-sized writes, TCP_NODELAY with `nodelay`)
    for at most `timeout` seconds; returns how much the kernel took. With
    `text`, sends that text instead (e.g. HTTP requests)."""
    s = sockets[cmd["id"]]
    s.setblocking(False)
    if cmd.get("nodelay"):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if "text" in cmd:
        chunk = cmd["text"].encode()
        total = len(chunk)
    else:
        total = cmd["bytes"]
        chunk = b"x" * min(cmd.get("chunk", total), total)
    sent = 0
    deadline = time.time() + cmd.get("timeout", 2)
    while sent < total and time.time() < deadline:
        try:
            sent += s.send(chunk[sent:] if "text" in cmd else chunk[: total - sent])
        except BlockingIOError:
            select.select([], [s], [], 0.05)
    return {"sent": sent}


def close(cmd):
    for sid in cmd["ids"]:
        s = sockets.pop(sid)
        if cmd.get("linger0"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    return {}


def timewait(cmd):
    """Client closes first, so the client side of each pair enters TIME_WAIT."""
    listener = socket.socket(family_of(cmd), socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    host = cmd.get("host", "127.0.0.1")
    listener.bind((host, cmd.get("port", 0)))
    listener.listen(128)
    port = listener.getsockname()[1]
    made = 0
    for _ in range(cmd["count"]):
        c = socket.socket(family_of(cmd), socket.SOCK_STREAM)
        try:
            c.connect((host, port))
        except OSError:
            c.close()
            break
        a, _ = listener.accept()
        c.close()
        a.recv(1)  # sees the FIN
        a.close()
        made += 1
    if cmd.get("keepListener"):
        return {"port": port, "made": made, "id": keep(listener)}
    listener.close()
    return {"port": port, "made": made}


def udp(cmd):
    proto = socket.IPPROTO_UDPLITE if cmd.get("lite") else 0
    s = socket.socket(family_of(cmd), socket.SOCK_DGRAM, proto)
    s.bind((cmd.get("host", "127.0.0.1"), cmd.get("port", 0)))
    if "connect" in cmd:
        s.connect((cmd["connect"]["host"], cmd["connect"]["port"]))
    return {"id": keep(s), "port": s.getsockname()[1]}


def udp_send(cmd):
    s = sockets[cmd["id"]]
    for _ in range(cmd.get("count", 1)):
        s.sendto(b"x" * cmd.get("bytes", 100), (cmd["host"], cmd["port"]))
    return {}


def info(cmd):
    s = sockets[cmd["id"]]
    return {"local": list(s.getsockname()[:2]), "peer": list(s.getpeername()[:2])}


def s32(value):
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def timewait_ahead(cmd):
    """Server-side TIME_WAIT sockets whose last TCP timestamp from the client
    is ahead of the raw clock, for PAWS.

    With net.ipv4.tcp_timestamps=1 every connection's TSval carries a random
    per-4-tuple offset; with 2 it is the raw clock (ms, CLOCK_MONOTONIC).
    Connects from `bind` until `count` connections have an offset more than
    a minute ahead, and lets the server close those first, so the server
    keeps a TIME_WAIT socket remembering that TSval. A later SYN from the
    same address and port sent with tcp_timestamps=2 carries an older
    TSval: the TIME_WAIT socket rejects it (PAWS). The others are closed by
    the client. Returns the listener, its port and the client ports.
    """
    host = cmd.get("host", "127.0.0.1")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, cmd.get("port", 0)))
    listener.listen(128)
    port = listener.getsockname()[1]
    ports, tries = [], 0
    while len(ports) < cmd["count"] and tries < cmd.get("maxTries", 200):
        tries += 1
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.bind((cmd["bind"], 0))
        client.connect((host, port))
        tsval = struct.unpack("I", client.getsockopt(socket.IPPROTO_TCP, 24, 4))[0]  # TCP_TIMESTAMP
        ahead = s32(tsval - int(time.monotonic() * 1000))
        server, _ = listener.accept()
        if ahead > 60000:
            ports.append(client.getsockname()[1])
            server.close()  # server closes first: the server side enters TIME_WAIT
            client.recv(1)
            client.close()
        else:
            client.close()
            server.recv(1)
            server.close()
    return {"id": keep(listener), "port": port, "clientPorts": ports, "tries": tries}


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn_flood(cmd):
    """Raw SYNs from `source` (an address with a route that leads nowhere,
    e.g. one routed to lo but not assigned), so the SYN-ACKs are lost and
    the requests stay half-open (SYN_RECV) until the SYN-ACK retries end."""
    src = socket.inet_aton(cmd["source"])
    dst = socket.inet_aton(cmd.get("host", "127.0.0.1"))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        for i in range(cmd["count"]):
            options = struct.pack("!BBH", 2, 4, 1460)  # MSS
            tcp = struct.pack(
                "!HHIIBBHHH", cmd.get("sourcePort", 20000) + i, cmd["port"],
                random.getrandbits(32), 0, (5 + len(options) // 4) << 4, 0x02, 65535, 0, 0,
            ) + options
            pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
            tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
            ip = struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, socket.IPPROTO_TCP, 0, src, dst,
            )
            raw.sendto(ip + tcp, (cmd.get("host", "127.0.0.1"), 0))
    finally:
        raw.close()
    return {"sent": cmd["count"]}


def serve(cmd):
    """A one-request-per-connection server on a thread of its own: reads the
    request, answers `response` bytes and closes first (so the server side
    keeps the TIME_WAIT socket)."""
    listener = socket.socket(family_of(cmd), socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((cmd.get("host", "127.0.0.1"), cmd.get("port", 0)))
    listener.listen(cmd.get("backlog", 512))
    answer = b"x" * cmd.get("response", 100)
    keepalive = cmd.get("keepalive", False)

    def handle(conn):
        try:
            conn.settimeout(5)
            while True:
                request = conn.recv(4096)
                if not request:
                    break
                conn.sendall(answer)
                if not keepalive:
                    break
        except OSError:
            pass
        finally:
            conn.close()

    def loop():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return {"id": keep(listener), "port": listener.getsockname()[1]}


def churn(cmd):
    """`count` connections one after another at about `rate` per second, one
    request each: connect, send, read the answer until the server closes,
    close; for at most `duration` seconds. Counts the connects that failed
    or were reset."""
    made = failed = reset = 0
    interval = 1.0 / cmd.get("rate", 50)
    started = time.time()
    for n in range(cmd["count"]):
        if time.time() - started > cmd.get("duration", 3600):
            break
        wait = started + n * interval - time.time()
        if wait > 0:
            time.sleep(wait)
        s = socket.socket(family_of(cmd), socket.SOCK_STREAM)
        s.settimeout(cmd.get("timeout", 3))
        try:
            if "bind" in cmd:
                s.bind((cmd["bind"], 0))
            s.connect((cmd["host"], cmd["port"]))
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while s.recv(65536):
                pass
            made += 1
        except ConnectionResetError:
            reset += 1
        except OSError:
            failed += 1
        finally:
            s.close()
    return {"made": made, "failed": failed, "reset": reset, "seconds": time.time() - started}


def requests(cmd):
    """`connections` persistent connections, `count` requests over each (a
    keep-alive client of a `serve` server with keepalive)."""
    conns = []
    for _ in range(cmd.get("connections", 1)):
        s = socket.create_connection((cmd["host"], cmd["port"]), timeout=3)
        conns.append(s)
    answered = 0
    for _ in range(cmd.get("count", 1)):
        for s in conns:
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")
            s.recv(65536)
            answered += 1
    ids = [keep(s) for s in conns]
    return {"ids": ids, "answered": answered}


OPS = {
    "listen": listen, "connect": connect, "accept": accept, "send": send,
    "close": close, "timewait": timewait, "udp": udp, "udpSend": udp_send,
    "info": info, "timewaitAhead": timewait_ahead, "synFlood": syn_flood,
    "serve": serve, "churn": churn, "requests": requests,
    "ping": lambda cmd: {"pid": os.getpid()},
}


def serve_commands(ops):
    """The command loop: one JSON command per stdin line, one reply per stdout
    line, until {"op": "exit"}. Shared with closed-traffic.py."""
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        if cmd.get("op") == "exit":
            break
        try:
            reply = ops[cmd["op"]](cmd)
            reply["ok"] = True
        except Exception as error:  # reported to the test, which fails
            reply = {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve_commands(OPS)
