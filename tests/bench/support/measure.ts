// Timing helpers shared by the benchmarks: wall-clock rates, time-boxed concurrent loops and machine facts.
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

/** Events per second, rounded to a whole number. */
export function rate(events: number, milliseconds: number): number {
  return Math.round((events * 1000) / milliseconds);
}

/** Runs `work` once and returns its events per second; `work` resolves to the number of events it handled. */
export async function measure(work: () => Promise<number>): Promise<{ events: number; eps: number }> {
  const started = performance.now();
  const events = await work();
  return { events, eps: rate(events, performance.now() - started) };
}

/**
 * `writers` concurrent loops, each calling `step(writer)` until `seconds` have passed; a step resolves to the number
 * of events it appended. Every writer finishes its step in flight, so the rate uses the real elapsed time.
 */
export async function timeBoxed(
  writers: number,
  seconds: number,
  step: (writer: number) => Promise<number>,
): Promise<{ events: number; eps: number }> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const counts = await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      let events = 0;
      while (performance.now() < deadline) events += await step(writer);
      return events;
    }),
  );
  const events = counts.reduce((sum, count) => sum + count, 0);
  return { events, eps: rate(events, performance.now() - started) };
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
    // The machine is shared; the load at the start tells a reader how much to trust the figures.
    load_average_1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    node: process.version,
  };
}

/** `measured / target`, to two decimals, or null when either side was not measured. */
export function ratio(measured: number | undefined, reference: number | undefined): number | null {
  if (measured === undefined || reference === undefined || reference === 0) return null;
  return Math.round((measured / reference) * 100) / 100;
}
