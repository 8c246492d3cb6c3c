#!/usr/bin/env python3
"""Opens and closes TCP connections with known byte counts, each way, in the
ways a connection can end, over IPv4 and IPv6 loopback: the traffic behind
the socket-destroy fixtures (scripts/record-fixture.py --destroy --run ...)
and test/destroy-live.test.ts. Prints one JSON line describing what it did:
per family, per case, the client's port and the bytes each side sent.

Cases (client = the connecting side, server = the accepted socket):
  fin          client sends, server answers, client closes first, then the
               server: FIN both ways
  client-rst   the client closes with SO_LINGER 0 (RST to the server)
  server-rst   the server closes with SO_LINGER 0 (RST to the client)
  unread       the server closes without reading what the client sent: the
               kernel answers with RST
"""
import json
import socket
import struct
import time

LINGER_ZERO = struct.pack("ii", 1, 0)
CASES = {
    "fin": (1000, 300),
    "client-rst": (700, 200),
    "server-rst": (500, 100),
    "unread": (400, 0),
}


def read_exactly(sock, count):
    got = 0
    while got < count:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (got, count))
        got += len(chunk)


def exchange(client, server, up, down):
    """`up` bytes client -> server, then `down` back, each read in full."""
    client.sendall(b"u" * up)
    read_exactly(server, up)
    server.sendall(b"d" * down)
    read_exactly(client, down)


def wait_reset(sock):
    sock.settimeout(2)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    return False


def run_case(name, listener, family, host):
    up, down = CASES[name]
    client = socket.socket(family, socket.SOCK_STREAM)
    client.connect((host, listener.getsockname()[1]))
    server, _ = listener.accept()
    port = client.getsockname()[1]
    if name == "unread":
        client.sendall(b"u" * up)
        time.sleep(0.05)  # the bytes sit unread in the server's queue
        server.close()
        reset = wait_reset(client)
        client.close()
        return {"clientPort": port, "clientSent": up, "serverSent": down, "reset": reset}
    exchange(client, server, up, down)
    if name == "fin":
        client.close()
        server.settimeout(2)
        assert server.recv(1) == b""  # the client's FIN
        server.close()
    elif name == "client-rst":
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
        client.close()
        assert wait_reset(server)
        server.close()
    else:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
        server.close()
        assert wait_reset(client)
        client.close()
    return {"clientPort": port, "clientSent": up, "serverSent": down}


def main():
    report = {}
    for family, host, name in ((socket.AF_INET, "127.0.0.1", "inet"), (socket.AF_INET6, "::1", "inet6")):
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.bind((host, 0))
        listener.listen(16)
        cases = {case: run_case(case, listener, family, host) for case in CASES}
        report[name] = {"listenerPort": listener.getsockname()[1], "cases": cases}
        listener.close()
        time.sleep(0.1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
