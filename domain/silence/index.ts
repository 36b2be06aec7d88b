// The silence aggregate's public surface.
export * from './matchers.ts';
export * from './silence.ts';
