import { stripVTControlCharacters } from 'node:util';
import pc from 'picocolors';
import { type Attribution, describeAttribution } from '../../lambdas/domain/attribution';

/** A plain column table; colour codes are not counted in widths. */
export function table(headers: string[], rows: string[][]): string {
  const visible = (s: string) => stripVTControlCharacters(s).length;
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visible(c))))
      .join('  ')
      .trimEnd();
  return [pc.bold(line(headers)), ...rows.map(line)].join('\n');
}

export function severityColour(severity: string): string {
  return severity === 'high' ? pc.red(severity) : severity === 'medium' ? pc.yellow(severity) : pc.dim(severity);
}

export function classificationColour(classification: string): string {
  return classification === 'unexpected'
    ? pc.red(classification)
    : classification === 'expected' || classification === 'restored'
      ? pc.green(classification)
      : pc.cyan(classification);
}

/** One line per JSON Patch operation: green additions, red removals, yellow replacements. */
export function patchLines(patch: unknown[], indent = '    '): string[] {
  return patch.map((raw) => {
    const op = raw as { op: string; path: string; value?: unknown };
    const value = op.value === undefined ? '' : ` ${truncate(JSON.stringify(op.value), 160)}`;
    const text = `${indent}${op.op.padEnd(7)} ${op.path}${value}`;
    return op.op === 'add' ? pc.green(text) : op.op === 'remove' ? pc.red(text) : pc.yellow(text);
  });
}

/** Who, when and ISC's tracking number of each audit event behind a change. */
export function attributionLines(attribution: Attribution | undefined, indent = '    '): string[] {
  if (!attribution) return [];
  if (attribution.confidence === 'unknown') return [pc.dim(`${indent}by ${describeAttribution(attribution)}`)];
  const head = `${indent}by ${describeAttribution(attribution)}`;
  const events = attribution.events.map((e) =>
    pc.dim(`${indent}  ${e.eventTime}  ${e.actor}  ${e.action}${e.trackingNumber ? `  tracking ${e.trackingNumber}` : ''}`),
  );
  return [head, ...events];
}

export const short = (hash: string | null | undefined) => (hash ? hash.slice(0, 12) : '-');

/** Cut to `max` characters with an ellipsis, so a table column stays inside 120 columns. */
export function clip(text: string, max: number): string {
  return truncate(text, max);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** "1 item", "2 items": counts read as sentences. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
