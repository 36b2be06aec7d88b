// A service as a fold of its events: its description, what it depends on, and whether it is retired.
import type { ServiceDescription, ServiceEvent } from './events.ts';

export type ServiceStatus = 'ACTIVE' | 'RETIRED';

/** Before ServiceRegistered there is no service, only the count of events seen (0). */
export interface NoService {
  readonly status: null;
  readonly version: number;
}

export interface Service extends Readonly<ServiceDescription> {
  readonly name: string;
  readonly status: ServiceStatus;
  /** Names of the services it calls, in the order they were declared. */
  readonly dependsOn: readonly string[];
  readonly registeredAt: string;
  readonly retiredAt: string | null;
  readonly retirementReason: string | null;
  /** Number of events folded, i.e. the stream's version. */
  readonly version: number;
}

export type ServiceState = NoService | Service;

export function initialState(): ServiceState {
  return { status: null, version: 0 };
}

export function evolve(state: ServiceState, event: ServiceEvent): ServiceState {
  const version = state.version + 1;
  if (event.type === 'ServiceRegistered') {
    const { name, tier, owner, runbookUrl, tags, at } = event.data;
    return { name, status: 'ACTIVE', tier, owner, runbookUrl, tags: [...tags], dependsOn: [], registeredAt: at, retiredAt: null, retirementReason: null, version };
  }
  // A stream always starts with ServiceRegistered; evolve stays total rather than throwing on a malformed history.
  if (state.status === null) return { ...state, version };
  switch (event.type) {
    case 'ServiceUpdated': {
      const { tier, owner, runbookUrl, tags } = event.data;
      return { ...state, tier, owner, runbookUrl, tags: [...tags], version };
    }
    case 'ServiceDependencyDeclared':
      return { ...state, dependsOn: [...state.dependsOn, event.data.to], version };
    case 'ServiceDependencyRemoved':
      return { ...state, dependsOn: state.dependsOn.filter((name) => name !== event.data.to), version };
    case 'ServiceRetired':
      return { ...state, status: 'RETIRED', retiredAt: event.data.at, retirementReason: event.data.reason, version };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
