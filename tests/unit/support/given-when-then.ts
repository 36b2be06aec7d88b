// given(events).when(command).then(events) / .thenThrows(ErrorClass, message) for any decider, with no store.
import assert from 'node:assert/strict';
import type { Decider } from '../../../domain/shared/decider.ts';

type ErrorClass = abstract new (...args: never[]) => Error;

export interface Then<State, Event> {
  then(expected: readonly Event[]): void;
  /** Asserts the command is refused with this class and, when given, a message matching `message`. */
  thenThrows(errorClass: ErrorClass, message?: RegExp | string): void;
  /** The state after folding given + decided events, for assertions on evolve. */
  thenState(check: (state: State) => void): void;
}

export function deciderSpec<State, Command, Event>(decider: Decider<State, Command, Event>) {
  return (given: readonly Event[]) => ({
    when(command: Command): Then<State, Event> {
      const state = given.reduce(decider.evolve, decider.initialState());
      return {
        then(expected) {
          assert.deepEqual(decider.decide(command, state), expected);
        },
        thenThrows(errorClass, message) {
          assert.throws(
            () => decider.decide(command, state),
            (error: unknown) => {
              assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
              if (typeof message === 'string') assert.equal(error.message, message);
              else if (message) assert.match(error.message, message);
              return true;
            },
          );
        },
        thenState(check) {
          check(decider.decide(command, state).reduce(decider.evolve, state));
        },
      };
    },
  });
}
