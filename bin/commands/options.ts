import { InvalidArgumentError } from 'commander';

/** A command line that cannot be acted on (bad flag, bad value, flags that do not go together); the CLI exits 2. */
export class UsageError extends Error {}

/**
 * A well-formed command the stored state refuses (unknown tenant, no such drift, not your request to approve); the CLI
 * exits 1 with the message, like any failed operation.
 */
export class Refusal extends Error {}

export function integerOption(min: number, max: number) {
  return (raw: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new InvalidArgumentError(`expected a whole number, got '${raw}'.`);
    const value = Number(raw);
    if (value < min || value > max) throw new InvalidArgumentError(`must be between ${min} and ${max}, got ${value}.`);
    return value;
  };
}

export function fractionOption(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || Number.isNaN(value) || value < 0 || value > 1) {
    throw new InvalidArgumentError(`expected a number from 0 to 1, got '${raw}'.`);
  }
  return value;
}

export function nonEmptyOption(raw: string): string {
  if (raw.trim() === '') throw new InvalidArgumentError('must not be empty.');
  return raw;
}

/** Resolves when the process is asked to stop (Ctrl-C or SIGTERM). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve(signal);
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
