#!/usr/bin/env python3
"""Builds and holds a socket table for tests, inside whatever network
namespace it runs in (`ip netns exec NAME python3 holder.py`).

Node cannot leave connections un-accepted or set SO_RCVBUF before connect, so
fixtures are made here. One JSON command per stdin line, one JSON reply per
stdout line: {"ok": true, ...} or {"ok": false, "error": "..."}.
"""
import errno
import json
import select
import socket
import struct
import sys
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
    s = socket.socket(family_of(cmd), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family_of(cmd) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if cmd.get("v6only", True) else 0)
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
            s.bind((cmd["bind"], 0))
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
    s = sockets[cmd["id"]]
    s.setblocking(False)
    data = b"x" * cmd["bytes"]
    sent = 0
    deadline = time.time() + cmd.get("timeout", 2)
    while sent < len(data) and time.time() < deadline:
        try:
            sent += s.send(data[sent:])
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
    s = socket.socket(family_of(cmd), socket.SOCK_DGRAM)
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


OPS = {
    "listen": listen, "connect": connect, "accept": accept, "send": send,
    "close": close, "timewait": timewait, "udp": udp, "udpSend": udp_send,
    "info": info,
}


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        if cmd.get("op") == "exit":
            break
        try:
            reply = OPS[cmd["op"]](cmd)
            reply["ok"] = True
        except Exception as error:  # reported to the test, which fails
            reply = {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
