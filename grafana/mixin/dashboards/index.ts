// The dashboards the mixin generates, one builder each.
import type { MixinConfig } from '../config';
import type { BuiltDashboard } from './common';
import { connections } from './connections';
import { listeners } from './listeners';
import { namespaces } from './namespaces';
import { overview } from './overview';

export type { BuiltDashboard } from './common';

export const DASHBOARDS: readonly ((config: MixinConfig) => BuiltDashboard)[] = [
  overview,
  listeners,
  connections,
  namespaces,
];
