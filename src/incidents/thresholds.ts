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
    help: 'RSTs sent, or aborts and failed connects, per second that fires resets.',
    default: 10,
    min: 0,
    max: 10_000_000,
  }),
  twReuseMinSockets: threshold({
    help: 'Server-side TIME_WAIT sockets a service port needs before time_wait_reuse looks at it.',
    default: 32,
    min: 1,
    max: 1_000_000,
  }),
  twReuseConcentration: threshold({
    help: "Share of a service port's server-side TIME_WAIT sockets from one peer address that time_wait_reuse needs.",
    default: 0.9,
    min: 0,
    max: 1,
  }),
  twReuseDensity: threshold({
    help: "That peer's TIME_WAIT sockets / the span of its source ports: how full its port pool is.",
    default: 0.5,
    min: 0,
    max: 1,
  }),
  twReusePressure: threshold({
    help: "That peer's connections per TIME_WAIT lifetime (60 s) / its source ports: above 1 its ports come back while still in TIME_WAIT.",
    default: 1.5,
    min: 0,
    max: 1_000_000,
  }),
  sampleInterval: threshold({
    help: 'Seconds between the counter samples the incident checks take on their own schedule.',
    default: 5,
    min: 0.1,
    max: 300,
  }),
  window: threshold({
    help: 'Seconds over which counter rises and rates are computed (at least one sample interval).',
    default: 60,
    min: 0.1,
    max: 3600,
  }),
  remember: threshold({
    help: 'Seconds /doctor lists an incident as recently fired after it last fired.',
    default: 900,
    min: 0,
    max: 86_400,
  }),
} as const;

export type Thresholds = { readonly [K in keyof typeof THRESHOLD_OPTIONS]: number };

export const DEFAULT_THRESHOLDS: Thresholds = Object.fromEntries(
  Object.entries(THRESHOLD_OPTIONS).map(([key, spec]) => [key, spec.default]),
) as unknown as Thresholds;
