// The shape every aggregate follows (Emmett's decider): state is a fold of events, rules are a pure function.
// Commands carry the clock and the actor, so `decide` never reads either and replays are deterministic.

export interface DomainEvent<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
}

export interface CommandMetadata {
  /** ISO-8601 instant the command was issued; events take their timestamps from it. */
  readonly now: string;
  /** Id of the actor issuing the command, for events that name who did something. */
  readonly actorId: string;
}

export interface DomainCommand<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
  readonly metadata: CommandMetadata;
}

export interface Decider<State, Command, Event> {
  /** The events the command causes in `state`; [] when it changes nothing. Throws a DomainError when refused. */
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}
