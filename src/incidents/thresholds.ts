// The incident checks' thresholds, each declared once with its default,
// bounds and help. The incidents collector offers them as its options
// (--collector.incidents.KEY in kebab case); the checks read them typed.
// The shape is the collectors' number option (collectors/options.ts).

export interface ThresholdSpec {
  kind: 'number';
  help: string;
  default: number;
  min: number;
  max: number;
}

const threshold = (spec: Omit<ThresholdSpec, 'kind'>): ThresholdSpec => ({
  kind: 'number',
  ...spec,
});

export const THRESHOLD_OPTIONS = {
  keepaliveIdle: threshold({
    help: 'Seconds an ESTABLISHED socket without keepalive may be idle before it counts as a possible ghost.',
    default: 3600,
    min: 1,
    max: 31_536_000,
  }),
  twBucketsRatio: threshold({
    help: 'TIME_WAIT sockets / tcp_max_tw_buckets that fires time_wait_bucket_overflow.',
    default: 0.8,
    min: 0,
    max: 1,
  }),
  ephemeralRatio: threshold({
    help: 'Ephemeral ports used toward one peer / ip_local_port_range size that fires ephemeral_port_exhaustion.',
    default: 0.8,
    min: 0,
    max: 1,
  }),
  synBacklogRatio: threshold({
    help: "A listener's half-open sockets / its SYN-queue limit (the listen backlog, or 3/4 of tcp_max_syn_backlog without cookies) that fires syn_queue_overflow.",
    default: 0.9,
    min: 0,
    max: 1,
  }),
  churnMinOpens: threshold({
    help: 'Connections opened per second below which connection_churn never fires.',
    default: 100,
    min: 0,
    max: 10_000_000,
  }),
  churnRatio: threshold({
    help: 'Connections opened per second per established connection that fires connection_churn.',
    default: 0.1,
    min: 0,
    max: 1_000_000,
  }),
  resetsRate: threshold({
    help: 'OutRsts, EstabResets or AttemptFails per second that fires resets.',
    default: 10,
    min: 0,
    max: 10_000_000,
  }),
} as const;

export type Thresholds = { readonly [K in keyof typeof THRESHOLD_OPTIONS]: number };

export const DEFAULT_THRESHOLDS: Thresholds = Object.fromEntries(
  Object.entries(THRESHOLD_OPTIONS).map(([key, spec]) => [key, spec.default]),
) as unknown as Thresholds;
