#!/usr/bin/env python3
"""Records the raw bytes of one inet_diag dump, or of socket-destroy events,
for parser tests and fuzz seeds.

Run it inside the namespace whose sockets you want, as root:

    nsenter --net=/var/run/netns/NS python3 scripts/record-fixture.py \\
        --family inet --protocol tcp --ext 0x42 --out test/fixtures/x.bin

(`nsenter --net` rather than `ip netns exec`, which remounts /sys and hides
the cgroup2 mount: ss then prints `cgroup:unreachable:ID` instead of paths.)

With --destroy SECONDS it subscribes to the socket-destroy multicast groups
instead (--groups), runs --run COMMAND, and records every event that arrives
within SECONDS; `ss -E` listens alongside and its text is the oracle.

FILE gets every datagram the kernel sent, concatenated: a datagram is just a
sequence of netlink messages, so the concatenation is one valid stream ending
with NLMSG_DONE (or NLMSG_ERROR). FILE.json records what a test needs to
parse it (seq, family, protocol, states, ext), the kernel it came from, and
what `ss` printed for the same table right after the dump: expectations are
derived from that text, not from our parser.

Stdlib only (Python's socket module speaks AF_NETLINK); the request layout
mirrors native/request.cc (docs/KERNEL.md, "Dump requests").
"""
import argparse
import datetime
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x001
NLM_F_DUMP = 0x300  # NLM_F_ROOT | NLM_F_MATCH
NLMSG_ERROR = 2
NLMSG_DONE = 3
INET_DIAG_REQ_PROTOCOL = 3  # u32 attribute, 5.9+, for protocols > 255

NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
# struct inet_diag_req_v2: family, protocol, ext, pad, states, then the
# 48-byte inet_diag_sockid, all zero for a dump (no port prefilter).
INET_DIAG_REQ_V2 = struct.Struct("=BBBxI48x")
RTATTR = struct.Struct("=HH")

FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}
# enum sknetlink_groups (linux/sock_diag.h); bound as bit 1 << (group - 1).
DESTROY_GROUPS = {"tcp4": 1, "udp4": 2, "tcp6": 3, "udp6": 4}
PROTOCOLS = {"tcp": 6, "udp": 17, "udplite": 136, "mptcp": 262}
RECEIVE_BYTES = 64 * 1024  # the kernel caps dump datagrams near 32 KiB


def align4(length):
    """NLMSG_ALIGN / RTA_ALIGN."""
    return (length + 3) & ~3


def encode_request(family, protocol, states, ext, seq):
    body = INET_DIAG_REQ_V2.pack(family, 0 if protocol > 0xFF else protocol, ext, states)
    if protocol > 0xFF:
        # IPPROTO_MPTCP does not fit sdiag_protocol; the attribute overrides it.
        body += RTATTR.pack(RTATTR.size + 4, INET_DIAG_REQ_PROTOCOL) + struct.pack("=I", protocol)
    length = NLMSGHDR.size + len(body)
    header = NLMSGHDR.pack(length, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
    return header + body


def final_status(datagram, seq):
    """None while the dump goes on, else a description of how it ended."""
    offset = 0
    while offset + NLMSGHDR.size <= len(datagram):
        length, kind, _flags, message_seq, _pid = NLMSGHDR.unpack_from(datagram, offset)
        if length < NLMSGHDR.size:
            raise SystemExit("malformed reply: nlmsg_len %d at offset %d" % (length, offset))
        if message_seq == seq and kind in (NLMSG_DONE, NLMSG_ERROR):
            code = 0
            if length >= NLMSGHDR.size + 4:
                (code,) = struct.unpack_from("=i", datagram, offset + NLMSGHDR.size)
            name = "done" if kind == NLMSG_DONE else "error"
            return {"type": name, "code": code}
        offset += align4(length)
    return None


def dump(family, protocol, states, ext, seq, timeout):
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
    sock.settimeout(timeout)
    try:
        sock.bind((0, 0))
        sock.sendto(encode_request(family, protocol, states, ext, seq), (0, 0))
        datagrams = []
        while True:
            data, _ancillary, flags, _address = sock.recvmsg(RECEIVE_BYTES)
            if flags & socket.MSG_TRUNC:
                raise SystemExit("datagram truncated: raise RECEIVE_BYTES")
            datagrams.append(data)
            end = final_status(data, seq)
            if end is not None:
                return datagrams, end
    finally:
        sock.close()


def ss_command(family_name, protocol_name):
    # The same family as the dump, so that ss lists exactly the dumped rows
    # in the same order; -m (skmem), -o (timers), -e (inode, cookie) and -i
    # (tcp_info) give the values tests compare against.
    if protocol_name == "tcp":
        return ["ss", "-tanmoeiH", "-f", family_name]
    if protocol_name == "udp":
        return ["ss", "-uanmeH", "-f", family_name]
    return None


def run_text(command):
    try:
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        return "(failed: %s)" % error


def to_json(value, indent=""):
    """JSON laid out the way the repository's formatter (Biome) keeps it:
    objects one key per line, arrays and scalars inline. The sidecars live
    under test/, which `npm run lint` checks."""
    if isinstance(value, dict):
        inner = indent + "  "
        items = ["%s%s: %s" % (inner, json.dumps(key), to_json(item, inner))
                 for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return json.dumps(value)


def cgroup2_mount():
    """Where cgroup v2 is mounted (fstype after the " - " separator)."""
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            left, _, right = line.partition(" - ")
            if right.split(" ")[0] == "cgroup2":
                return left.split(" ")[4]
    return None


def cgroup_ids(ss_text):
    """cgroup path -> id (the inode of its directory) for every cgroup ss
    printed by path, so tests can expect ids without trusting our parser."""
    mount = cgroup2_mount()
    ids = {}
    for path in sorted(set(re.findall(r"cgroup:(/\S*)", ss_text))):
        try:
            ids[path] = os.stat(mount + path).st_ino if mount else None
        except OSError:
            ids[path] = None
    return ids


def record_destroy(groups, seconds, command):
    """Subscribes, runs `command`, and keeps every event datagram that
    arrives within `seconds`. ss -E listens too, started first."""
    mask = 0
    for name in groups:
        mask |= 1 << (DESTROY_GROUPS[name] - 1)
    ss_flags = "-tEieH" if all(g.startswith("tcp") for g in groups) else "-tuEieH"
    ss = subprocess.Popen(["stdbuf", "-oL", "ss", ss_flags], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)  # ss binds its groups
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
    sock.bind((0, mask))
    sock.settimeout(0.1)
    run = subprocess.run(command, shell=True, capture_output=True, text=True, check=True)
    datagrams = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            data, _ancillary, flags, _address = sock.recvmsg(RECEIVE_BYTES)
        except socket.timeout:
            continue
        if flags & socket.MSG_TRUNC:
            raise SystemExit("event datagram truncated")
        datagrams.append(data)
    sock.close()
    ss.send_signal(signal.SIGINT)
    ss_text, _ = ss.communicate(timeout=5)
    return datagrams, mask, ss_flags, ss_text, run.stdout


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=sorted(FAMILIES), default="inet")
    parser.add_argument("--protocol", default="tcp", help="tcp, udp, udplite, mptcp or a number")
    parser.add_argument("--states", type=lambda text: int(text, 0), default=0xFFF,
                        help="idiag_states mask (default 0xfff: every real state)")
    parser.add_argument("--ext", type=lambda text: int(text, 0), default=0,
                        help="idiag_ext bits, e.g. 0x42 = INFO|SKMEMINFO")
    parser.add_argument("--seq", type=lambda text: int(text, 0), default=0x5D1A0001,
                        help="nlmsg_seq of the request; every reply echoes it")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--note", default="", help="what the socket table holds, for the sidecar")
    parser.add_argument("--out", required=True, help="FILE for the bytes; FILE.json gets the metadata")
    parser.add_argument("--destroy", type=float, metavar="SECONDS",
                        help="record socket-destroy events for SECONDS instead of a dump")
    parser.add_argument("--groups", default="tcp4,tcp6",
                        help="destroy groups: tcp4, tcp6, udp4, udp6 (comma-separated)")
    parser.add_argument("--run", help="with --destroy: the command whose sockets close")
    arguments = parser.parse_args()
    if not 0 <= arguments.ext <= 0xFF:
        parser.error("--ext is a u8 (idiag_ext)")
    if not 0 < arguments.seq <= 0xFFFFFFFF:
        parser.error("--seq must be a non-zero u32")
    return arguments


def main_destroy(arguments):
    groups = arguments.groups.split(",")
    if not arguments.run or any(g not in DESTROY_GROUPS for g in groups):
        raise SystemExit("--destroy needs --run and --groups from %s" % ", ".join(DESTROY_GROUPS))
    datagrams, mask, ss_flags, ss_text, run_output = record_destroy(
        groups, arguments.destroy, arguments.run)
    with open(arguments.out, "wb") as out:
        for datagram in datagrams:
            out.write(datagram)
    metadata = {
        # Multicast events carry seq 0 and no NLMSG_DONE.
        "seq": 0,
        "events": True,
        "groups": groups,
        "groupMask": mask,
        "rowType": SOCK_DIAG_BY_FAMILY,
        "datagramLengths": [len(d) for d in datagrams],
        "kernel": os.uname().release,
        "recordedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "note": arguments.note,
        "run": arguments.run,
        "runOutput": run_output,
        "ssCommand": "ss " + ss_flags,
        "ss": ss_text,
    }
    with open(arguments.out + ".json", "w") as sidecar:
        sidecar.write(to_json(metadata) + "\n")
    sys.stderr.write("%s: %d events\n" % (arguments.out, len(datagrams)))


def main():
    arguments = parse_arguments()
    if arguments.destroy is not None:
        main_destroy(arguments)
        return
    protocol_name = arguments.protocol
    if protocol_name in PROTOCOLS:
        protocol = PROTOCOLS[protocol_name]
    else:
        protocol = int(protocol_name, 0)
        protocol_name = next((n for n, p in PROTOCOLS.items() if p == protocol), str(protocol))
    family = FAMILIES[arguments.family]

    datagrams, end = dump(family, protocol, arguments.states, arguments.ext, arguments.seq,
                          arguments.timeout)
    command = ss_command(arguments.family, protocol_name)
    ss_text = run_text(command) if command else ""

    with open(arguments.out, "wb") as out:
        for datagram in datagrams:
            out.write(datagram)
    metadata = {
        "seq": arguments.seq,
        "family": family,
        "familyName": arguments.family,
        "protocol": protocol,
        "protocolName": protocol_name,
        "states": arguments.states,
        "ext": arguments.ext,
        "rowType": SOCK_DIAG_BY_FAMILY,
        "datagramLengths": [len(d) for d in datagrams],
        "end": end,
        "kernel": os.uname().release,
        "recordedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "note": arguments.note,
        "ssCommand": " ".join(command) if command else None,
        "ss": ss_text,
        "cgroupIds": cgroup_ids(ss_text),
    }
    with open(arguments.out + ".json", "w") as sidecar:
        sidecar.write(to_json(metadata) + "\n")
    total = sum(len(d) for d in datagrams)
    sys.stderr.write("%s: %d bytes in %d datagram(s), ended with %s %d\n" % (
        arguments.out, total, len(datagrams), end["type"], end["code"]))


if __name__ == "__main__":
    main()
