import type { MixinConfig } from '../config';
export interface BuiltDashboard {
  slug: string;
  json: object;
}
export const DASHBOARDS: ((config: MixinConfig) => BuiltDashboard)[] = [];
