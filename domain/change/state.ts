// A change as a fold of its one event.
import type { ChangeEvent, ChangeRecorded } from './events.ts';

export type Change = ChangeRecorded['data'];

export interface ChangeState {
  readonly change: Change | null;
  readonly version: number;
}

export function initialState(): ChangeState {
  return { change: null, version: 0 };
}

export function evolve(state: ChangeState, event: ChangeEvent): ChangeState {
  switch (event.type) {
    case 'ChangeRecorded':
      return { change: event.data, version: state.version + 1 };
    default: {
      const unhandled: never = event.type;
      return unhandled;
    }
  }
}
