#!/usr/bin/env python3
"""Short TCP connections with exactly known byte counts, ended in known ways,
for test/live/closed-live.test.ts. Runs inside the test namespace.

One JSON command per stdin line, one JSON reply per stdout line:
  {"op": "listen", "family": "inet"|"inet6", "port": P}
  {"op": "control", "port": P, "count": N}  N connections to P held open
  {"op": "run", "port": P, "family": ..., "kind": K, "count": N, "up": U, "down": D}
      K = fin: the client sends U bytes, the server reads them and answers D,
              the client closes first, then the server (FIN both ways);
          unread: the client sends U, the server closes without reading
              them (the kernel sends RST);
          abort: as fin, then the client closes with SO_LINGER 0 (RST).
  {"op": "burst", "port": P, "count": N}  N pairs made, then all closed at once
  {"op": "udp", "count": N}  N UDP client sockets to port 53, each sends and closes
  {"op": "exit"}
"""
import socket
import struct

from holder import serve_commands  # the same command loop (this directory is on sys.path)

LINGER_ZERO = struct.pack("ii", 1, 0)
listeners = {}
held = []


def family_of(name):
    return socket.AF_INET6 if name == "inet6" else socket.AF_INET


def host_of(name):
    return "::1" if name == "inet6" else "127.0.0.1"


def read_exactly(sock, count):
    got = 0
    while got < count:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (got, count))
        got += len(chunk)


def wait_reset(sock):
    sock.settimeout(2)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    return False


def listen(cmd):
    family = cmd.get("family", "inet")
    s = socket.socket(family_of(family), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host_of(family), cmd["port"]))
    s.listen(4096)
    listeners[cmd["port"]] = (s, family)
    return {}


def pair(port):
    listener, family = listeners[port]
    client = socket.socket(family_of(family), socket.SOCK_STREAM)
    client.connect((host_of(family), port))
    server, _ = listener.accept()
    return client, server


def one(port, kind, up, down):
    client, server = pair(port)
    client.sendall(b"u" * up)
    if kind == "unread":
        # Every byte is in the server's queue, none read: close() resets.
        server.recv(up, socket.MSG_PEEK | socket.MSG_WAITALL)
        server.close()
        reset = wait_reset(client)
        client.close()
        return reset
    read_exactly(server, up)
    server.sendall(b"d" * down)
    read_exactly(client, down)
    if kind == "abort":
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
        client.close()
        reset = wait_reset(server)
        server.close()
        return reset
    client.close()
    server.settimeout(2)
    assert server.recv(1) == b""  # the client's FIN
    server.close()
    return True


def run(cmd):
    done = sum(1 for _ in range(cmd["count"]) if one(cmd["port"], cmd["kind"], cmd["up"], cmd["down"]))
    return {"done": done}


def control(cmd):
    for _ in range(cmd["count"]):
        held.extend(pair(cmd["port"]))
    return {"held": len(held)}


def burst(cmd):
    sockets = []
    for _ in range(cmd["count"]):
        sockets.extend(pair(cmd["port"]))
    for s in sockets:
        s.close()
    return {"closed": len(sockets)}


def udp(cmd):
    for _ in range(cmd["count"]):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", 53))
        s.send(b"q")
        s.close()
    return {}


OPS = {"listen": listen, "control": control, "run": run, "burst": burst, "udp": udp}


if __name__ == "__main__":
    serve_commands(OPS)
