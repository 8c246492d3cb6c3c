// A load balancer in front of a test's server namespace: a second namespace
// joined to it by a veth pair, whose clients reach the server through
// nftables SNAT onto a small pool of source ports (or, without a pool, with
// their own addresses and ports). Its conntrack forgets closed connections
// after a second, as busy balancers do, so the pool's ports come back while
// the server still holds them in TIME_WAIT.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { SocketHolder } from './holder';
import { type Netns, testNamespace } from './namespaces';

export const BALANCER_ADDRESS = '10.2.0.1';
export const SERVER_ADDRESS = '10.2.0.2';

export interface BalancerOptions {
  /** SNAT source ports, e.g. [40000, 40063]; absent: no NAT. */
  pool?: [number, number];
  /** net.ipv4.tcp_timestamps of the clients (0: the balancer strips them). */
  timestamps: 0 | 1;
}

export function balancer(
  t: { teardown(fn: () => Promise<void> | void): void },
  server: Netns,
  options: BalancerOptions,
): { ns: Netns; holder: SocketHolder } {
  const { ns, holder } = testNamespace(t, {
    prefix: 'sdlb',
    sysctls: {
      'net.ipv4.tcp_timestamps': options.timestamps,
      'net.netfilter.nf_conntrack_tcp_timeout_time_wait': 1,
    },
  });
  const id = randomBytes(3).toString('hex');
  const [outside, inside] = [`lb${id}`, `sv${id}`];
  execFileSync('ip', [
    'link',
    'add',
    outside,
    'netns',
    ns.name,
    'type',
    'veth',
    'peer',
    'name',
    inside,
    'netns',
    server.name,
  ]);
  ns.run('ip', ['addr', 'add', `${BALANCER_ADDRESS}/24`, 'dev', outside]);
  ns.run('ip', ['link', 'set', outside, 'up']);
  server.run('ip', ['addr', 'add', `${SERVER_ADDRESS}/24`, 'dev', inside]);
  server.run('ip', ['link', 'set', inside, 'up']);
  if (options.pool) {
    const [low, high] = options.pool;
    const rules = `table ip nat {
  chain post {
    type nat hook postrouting priority srcnat;
    ip daddr ${SERVER_ADDRESS} tcp dport 8080 snat to ${BALANCER_ADDRESS}:${low}-${high}
  }
}
`;
    execFileSync('nsenter', [`--net=${ns.path}`, 'nft', '-f', '-'], {
      input: rules,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }
  return { ns, holder };
}
