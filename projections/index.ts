// Every read model the platform runs, for the one projection engine (and its rebuilds).
import { alertsProjection } from './alerts.ts';
import { auditLogProjection } from './audit-log.ts';
import { changesProjection } from './changes.ts';
import { incidentsProjection } from './incidents.ts';
import type { Projection } from './projection.ts';
import { silencesProjection } from './silences.ts';
import { topologyProjection } from './topology.ts';

export function allProjections(): Projection[] {
  return [incidentsProjection(), alertsProjection(), auditLogProjection(), topologyProjection(), changesProjection(), silencesProjection()];
}
