// Every read model the platform runs, for the one projection engine (and its rebuilds).
import { alertsProjection } from './alerts.ts';
import { auditLogProjection } from './audit-log.ts';
import { incidentsProjection } from './incidents.ts';
import type { Projection } from './projection.ts';

export function allProjections(): Projection[] {
  return [incidentsProjection(), alertsProjection(), auditLogProjection()];
}
