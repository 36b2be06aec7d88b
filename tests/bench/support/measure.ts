// Timing helpers shared by the benchmarks: samples, time-boxed concurrent loops, interleaved comparisons and
// machine facts.
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

/** Events handled in a measured span of wall-clock time. */
export interface Sample {
  events: number;
  ms: number;
}

/** Events per second over all samples, rounded to a whole number. */
export function rate(...samples: readonly Sample[]): number {
  const events = samples.reduce((sum, sample) => sum + sample.events, 0);
  const ms = samples.reduce((sum, sample) => sum + sample.ms, 0);
  return ms === 0 ? 0 : Math.round((events * 1000) / ms);
}

/** Times `work`, which resolves to the number of events it handled. */
export async function timed(work: () => Promise<number>): Promise<Sample> {
  const started = performance.now();
  const events = await work();
  return { events, ms: performance.now() - started };
}

/**
 * `writers` concurrent loops, each calling `step(writer)` until `seconds` have passed; a step resolves to the number
 * of events it handled. Writers finish the step in flight, so the sample uses the real elapsed time.
 */
export function timeBoxed(writers: number, seconds: number, step: (writer: number) => Promise<number>): Promise<Sample> {
  return timed(async () => {
    const deadline = performance.now() + seconds * 1000;
    const counts = await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        let events = 0;
        while (performance.now() < deadline) events += await step(writer);
        return events;
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  });
}

/**
 * Runs the contenders' steps in turn, `rounds` times, and returns each one's rate over all its rounds. On a shared,
 * busy machine the contenders then meet the same load, so their ratio means something even when the rates do not.
 */
export async function interleave<Name extends string>(
  rounds: number,
  steps: Record<Name, (round: number) => Promise<Sample>>,
): Promise<Record<Name, number>> {
  const names = Object.keys(steps) as Name[];
  const samples = new Map<Name, Sample[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) samples.get(name)?.push(await steps[name](round));
  }
  return Object.fromEntries(names.map((name) => [name, rate(...(samples.get(name) ?? []))])) as Record<Name, number>;
}

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  memory_gb: number;
  load_average_1m: number;
  node: string;
}

export function machineInfo(): MachineInfo {
  const processors = cpus();
  return {
    cpus: processors.length,
    cpu_model: processors[0]?.model ?? 'unknown',
    memory_gb: Math.round(totalmem() / 2 ** 30),
    // The machine may be shared; the load when a line starts tells a reader how far to trust its figures.
    load_average_1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    node: process.version,
  };
}

/** `measured / reference` to two decimals, or null when the reference was not measured. */
export function ratio(measured: number, reference: number | undefined): number | null {
  if (reference === undefined || reference === 0) return null;
  return Math.round((measured / reference) * 100) / 100;
}
