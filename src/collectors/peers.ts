// peers (off by default: it reveals remote addresses): the busiest remote
// addresses per state, and the (local, remote, remote port) tuple that uses
// the most ephemeral ports.
import { STATE } from '../diag';
import { defineCollector, type MetricSample } from './collector';
import { integer } from './options';

const REPORTED_STATES = [
  'established',
  'time_wait',
  'syn_recv',
  'close_wait',
  'fin_wait2',
] as const;
export const peersCollector = defineCollector({
  name: 'peers',
  help: 'Top remote addresses by socket count per state, and the busiest ephemeral-port tuple by address. Reveals peer addresses: off by default.',
  defaultEnabled: false,
  // The table scan keeps the top peers while it counts (its peersLimit).
  readsTable: true,
  options: {
    limit: integer({ help: 'Remote addresses reported per state.', default: 10, min: 0, max: 100 }),
  },
  create() {
    return {
      async collect({ sources }) {
        const scan = await sources.tableScan;
        const values: MetricSample[] = [];
        const distinct: MetricSample[] = [];
        for (const state of REPORTED_STATES) {
          for (const peer of scan.peers.topPeers(STATE[state])) {
            values.push({ labels: { state, peer: peer.address }, value: peer.sockets });
          }
          distinct.push({ labels: { state }, value: scan.peers.distinctPeers(STATE[state]) });
        }
        const tuple = scan.peers.busiestTuple(true);
        const tupleValues: MetricSample[] =
          tuple.ports > 0
            ? [
                {
                  labels: {
                    local_address: tuple.localAddress ?? '',
                    peer: tuple.remoteAddress ?? '',
                    peer_port: tuple.remotePort ?? 0,
                  },
                  value: tuple.ports,
                },
              ]
            : [];
        return [
          {
            name: 'sockdiag_peer_sockets',
            help: 'TCP sockets toward the busiest remote addresses, per state (top --collector.peers.limit per state). Many time_wait sockets toward one peer is the SNAT port-reuse signature.',
            type: 'gauge',
            values,
          },
          {
            name: 'sockdiag_peer_distinct_addresses',
            help: 'Distinct remote addresses per state.',
            type: 'gauge',
            values: distinct,
          },
          {
            name: 'sockdiag_ephemeral_ports_busiest_tuple',
            help: 'Ephemeral ports in use toward the busiest (local address, peer, peer port) tuple, naming it.',
            type: 'gauge',
            values: tupleValues,
          },
        ];
      },
    };
  },
});
