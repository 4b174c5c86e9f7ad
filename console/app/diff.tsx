import { diffLines } from 'diff';
import { useState } from 'preact/hooks';
import type { Json } from './types';

/** Keys sorted at every level, so two documents line up field by field whatever order ISC sent them in. */
function sorted(value: Json | null): Json | null {
  if (Array.isArray(value)) return value.map((v) => sorted(v) as Json);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sorted(value[k] as Json) as Json]),
  );
}

export function pretty(value: Json | null): string {
  return value === null ? '' : `${JSON.stringify(sorted(value), null, 2)}\n`;
}

interface Row {
  left?: { n: number; text: string; kind: 'same' | 'removed' };
  right?: { n: number; text: string; kind: 'same' | 'added' };
}

/** Lines of the two documents paired as rows: unchanged lines side by side, a removed block beside the added one. */
export function rows(before: Json | null, after: Json | null): Row[] {
  const parts = diffLines(pretty(before), pretty(after));
  const out: Row[] = [];
  let l = 1;
  let r = 1;
  const lines = (text: string) => text.replace(/\n$/, '').split('\n');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (!part) continue;
    if (!part.added && !part.removed) {
      for (const text of lines(part.value)) out.push({ left: { n: l++, text, kind: 'same' }, right: { n: r++, text, kind: 'same' } });
      continue;
    }
    const removed = part.removed ? lines(part.value) : [];
    const next = parts[i + 1];
    const added = part.added ? lines(part.value) : next?.added ? lines(next.value) : [];
    if (part.removed && next?.added) i++;
    for (let k = 0; k < Math.max(removed.length, added.length); k++) {
      const a = removed[k];
      const b = added[k];
      out.push({
        ...(a !== undefined ? { left: { n: l++, text: a, kind: 'removed' as const } } : {}),
        ...(b !== undefined ? { right: { n: r++, text: b, kind: 'added' as const } } : {}),
      });
    }
  }
  return out;
}

const CONTEXT = 3;

type Shown = { row: Row; n: number } | { hidden: number; n: number };

/** Unchanged lines further than CONTEXT from a change fold into one "N unchanged lines" row. */
export function fold(all: Row[], context = CONTEXT): Shown[] {
  const changed = all.map((row) => row.left?.kind !== 'same' || row.right?.kind !== 'same');
  const near = all.map((_, i) => changed.slice(Math.max(0, i - context), i + context + 1).some(Boolean));
  const out: Shown[] = [];
  for (const [i, row] of all.entries()) {
    if (near[i]) out.push({ row, n: i });
    else {
      const last = out.at(-1);
      if (last && 'hidden' in last) out[out.length - 1] = { hidden: last.hidden + 1, n: last.n };
      else out.push({ hidden: 1, n: i });
    }
  }
  return out;
}

/**
 * Two documents side by side, changed lines marked by colour and by a − / + sign (readable without colour and by a
 * screen reader), unchanged stretches folded until asked for. `null` reads as "(does not exist)".
 */
export function SideBySideDiff(props: {
  before: Json | null;
  after: Json | null;
  beforeLabel: string;
  afterLabel: string;
  caption: string;
}) {
  const [all, setAll] = useState(false);
  const lines = rows(props.before, props.after);
  const changed = lines.filter((row) => row.left?.kind !== 'same' || row.right?.kind !== 'same').length;
  const shown: Shown[] = all ? lines.map((row, n) => ({ row, n })) : fold(lines);
  const folded = shown.some((s) => 'hidden' in s);
  return (
    <div class="diff-wrap">
      <table class="diff">
        <caption>
          {props.caption}{' '}
          <span class="muted">({changed === 0 ? 'no differences' : `${changed} changed line${changed === 1 ? '' : 's'}`})</span>{' '}
          {(folded || all) && (
            <button type="button" class="link" aria-pressed={all} onClick={() => setAll(!all)}>
              {all ? 'Fold unchanged lines' : 'Show every line'}
            </button>
          )}
        </caption>
        <colgroup>
          <col class="ln" />
          <col />
          <col class="ln" />
          <col />
        </colgroup>
        <thead>
          <tr>
            <th scope="col" colSpan={2}>
              {props.beforeLabel}
            </th>
            <th scope="col" colSpan={2}>
              {props.afterLabel}
            </th>
          </tr>
        </thead>
        <tbody>
          {props.before === null && (
            <tr>
              <td colSpan={2} class="absent">
                (does not exist)
              </td>
              <td colSpan={2} />
            </tr>
          )}
          {props.after === null && (
            <tr>
              <td colSpan={2} />
              <td colSpan={2} class="absent">
                (does not exist)
              </td>
            </tr>
          )}
          {shown.map((s) =>
            'hidden' in s ? (
              <tr key={`h${s.n}`} class="fold">
                <td colSpan={4}>
                  ⋯ {s.hidden} unchanged line{s.hidden === 1 ? '' : 's'}
                </td>
              </tr>
            ) : (
              <tr key={s.n}>
                <td class="ln">{s.row.left?.n ?? ''}</td>
                <td class={`code ${s.row.left?.kind ?? 'empty'}`}>
                  {s.row.left?.kind === 'removed' && <span class="sign">−</span>}
                  {s.row.left?.text}
                </td>
                <td class="ln">{s.row.right?.n ?? ''}</td>
                <td class={`code ${s.row.right?.kind ?? 'empty'}`}>
                  {s.row.right?.kind === 'added' && <span class="sign">+</span>}
                  {s.row.right?.text}
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}
