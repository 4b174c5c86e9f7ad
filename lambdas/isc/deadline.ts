import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A time budget for every ISC call made inside `withDeadline`: the transport never starts an attempt, waits a backoff or
 * a Retry-After, or lets a request run past it. The apply function sets it from `context.getRemainingTimeInMillis()`,
 * so it stops on its own before Lambda kills it, and its lease outlives any call it made.
 */
const storage = new AsyncLocalStorage<number>();

export function withDeadline<T>(deadlineEpochMs: number, fn: () => Promise<T>): Promise<T> {
  return storage.run(deadlineEpochMs, fn);
}

/** Milliseconds left before the current deadline; Infinity outside `withDeadline`. */
export function remainingMs(now = Date.now()): number {
  const deadline = storage.getStore();
  return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - now;
}
