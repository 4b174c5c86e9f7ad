import { appendFileSync } from 'node:fs';

/**
 * `SDIM_GUARD_TIMELINE=<file>`: the CLI, its background store and the bench append one line per stage to `<file>`
 * (`<epoch ms> <pid> <label>`), to see where a command's time goes across its processes (docs/performance.md shows
 * one). Without the variable, nothing is written. bin/sdim-guard.js and local/store-boot.js write the same format.
 */
const file = process.env.SDIM_GUARD_TIMELINE;

export function mark(label: string): void {
  if (!file) return;
  appendFileSync(file, `${(performance.timeOrigin + performance.now()).toFixed(1)} ${process.pid} ${label}\n`);
}
