// Waiting without sleeping blindly: a runner idles until it is told there is work (or a timeout passes), and every
// wait ends at once when the engine stops.
import { setTimeout as delay } from 'node:timers/promises';

/** Resolves after `ms`, or as soon as `signal` aborts. */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => undefined);
}

/** Wakes waiters early. A `fire()` while nobody waits is kept for the next `wait()`, so no wake-up is lost. */
export class Wakeup {
  #pending = false;
  readonly #waiters = new Set<() => void>();

  fire(): void {
    if (this.#waiters.size === 0) this.#pending = true;
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves at the next `fire()`, after `ms`, or when `signal` aborts, whichever comes first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#pending || signal?.aborted === true) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      signal?.addEventListener('abort', wake);
      this.#waiters.add(wake);
    });
  }
}
