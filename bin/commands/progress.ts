/**
 * One status line on stderr for work that takes over a second (starting DynamoDB Local, pages fetched, items
 * written), redrawn in place and erased when the work is done. Only for a person at a terminal: with `--json`, or
 * when stderr is not a TTY (a pipe, a file, CI), nothing is written.
 */
export interface Progress {
  /** What is happening now; read again on every redraw. */
  watch(describe: () => string): void;
  /** Erases the line (if one was drawn) and stops redrawing. */
  done(): void;
}

export const silentProgress: Progress = { watch: () => undefined, done: () => undefined };

let active: Progress | undefined;

/** Erases the progress line before a command prints its result (the two streams share one terminal line). */
export function clearProgress(): void {
  active?.done();
}

/**
 * How long work runs before its line appears: one second, or SDIM_GUARD_PROGRESS_AFTER_MS (the e2e tests set 0, so
 * that what the line says can be checked on a machine fast enough to start DynamoDB Local within a second).
 */
function progressDelayMs(): number {
  const given = Number(process.env.SDIM_GUARD_PROGRESS_AFTER_MS);
  return Number.isFinite(given) && given >= 0 ? given : 1_000;
}

export function startProgress(
  flags: { json?: boolean },
  stream: NodeJS.WriteStream = process.stderr,
  options: { afterMs?: number; everyMs?: number } = {},
): Progress {
  if (flags.json || !stream.isTTY) return silentProgress;
  let describe: () => string = () => 'working';
  let drawn = false;
  let redraw: NodeJS.Timeout | undefined;
  const draw = () => {
    const columns = stream.columns || 80;
    const text = describe().slice(0, Math.max(10, columns - 2));
    stream.write(`\r\x1b[2K\x1b[2m${text}…\x1b[22m`);
    drawn = true;
  };
  const start = setTimeout(() => {
    draw();
    redraw = setInterval(draw, options.everyMs ?? 250);
    redraw.unref();
  }, options.afterMs ?? progressDelayMs());
  start.unref();
  const progress: Progress = {
    watch: (next) => {
      describe = next;
    },
    done: () => {
      clearTimeout(start);
      clearInterval(redraw);
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
      if (active === progress) active = undefined;
    },
  };
  active = progress;
  return progress;
}
