import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { currentAttribution, describeAttribution } from '../../lambdas/domain/attribution';
import type { AttributionAnnotation, StoredSnapshot } from '../../lambdas/ports/snapshot-store';
import {
  DEFAULT_INTERVAL_MINUTES,
  describeAnchors,
  describeBreak,
  type HistoryVerdict,
  verifyHistory,
} from '../../lambdas/use-cases/verify-history';
import type { Workspace } from '../../local/workspace';
import { parseWhen } from './dates';
import { requireTenant } from './history';
import { nonEmptyOption, UsageError } from './options';
import { plural } from './render';
import { inWorkspace, positiveInt, print, type WorkspaceFlags, withWorkspaceOptions } from './workspace-options';

const intervalOption = (raw: string) => positiveInt(raw, '--interval-minutes');

/** The table's chains, their items, and the anchors in the workspace (`<data-dir>/anchors/<tenant>.jsonl`). */
function verifyInWorkspace(ws: Workspace, tenant: string, intervalMinutes: number): Promise<HistoryVerdict> {
  return verifyHistory(ws.store, tenant, {
    ignoreReferenceNames: ws.settings.ignoreReferenceNames,
    anchors: ws.anchors,
    intervalMinutes,
  });
}

export function registerAuditCommands(program: Command): void {
  withWorkspaceOptions(
    program
      .command('verify')
      .description(
        "Recompute the hash chains of a tenant's history and compare their heads with the anchors outside the table; exits 1 and names the first broken link if anything was altered.",
      )
      .requiredOption('--tenant <name>', 'tenant name', nonEmptyOption)
      .option(
        '--interval-minutes <n>',
        'minutes between snapshots: records unanchored for more than two intervals fail',
        intervalOption,
        DEFAULT_INTERVAL_MINUTES,
      ),
  ).action(async (flags: WorkspaceFlags & { tenant: string; intervalMinutes: number }) => {
    await inWorkspace(flags, async (ws) => {
      await requireTenant(ws, flags.tenant);
      const verdict = await verifyInWorkspace(ws, flags.tenant, flags.intervalMinutes);
      print(flags, verdict, () =>
        [
          verdict.ok
            ? pc.green(
                `OK: ${verdict.snapshotsChecked} snapshots and ${verdict.versionsChecked} versions of ${flags.tenant} verified, with ${verdict.journalEntriesChecked} journal entries and ${verdict.recordsChecked} drift/ledger/request items.`,
              )
            : pc.red(`BROKEN at ${verdict.firstBroken ? describeBreak(verdict.firstBroken) : '?'}`),
          `  ${describeAnchors(verdict)}`,
          ...(verdict.anchors?.warnings ?? []).map((w) => pc.yellow(`  warning: ${w}`)),
        ].join('\n'),
      );
      if (!verdict.ok) process.exitCode = 1;
    });
  });

  withWorkspaceOptions(
    program
      .command('export')
      .description('Export audit evidence: snapshots, their changes and the chain verdict, as JSON or CSV.')
      .requiredOption('--tenant <name>', 'tenant name', nonEmptyOption)
      .option('--format <format>', 'json or csv', 'json')
      .option('--from <date>', 'first snapshot time to include: a day (2026-01-01, UTC) or an ISO time (offset optional, UTC without)')
      .option('--to <date>', 'last snapshot time to include: a day means up to its end (23:59:59.999 UTC)')
      .option('--out <file>', 'write to this file instead of standard output', nonEmptyOption)
      .option(
        '--interval-minutes <n>',
        'minutes between snapshots: records unanchored for more than two intervals fail the chain verdict',
        intervalOption,
        DEFAULT_INTERVAL_MINUTES,
      ),
  ).action(
    async (
      flags: WorkspaceFlags & { tenant: string; format: string; from?: string; to?: string; out?: string; intervalMinutes: number },
    ) => {
      if (flags.format !== 'json' && flags.format !== 'csv') throw new UsageError(`--format must be json or csv, not '${flags.format}'`);
      const from = flags.from ? parseWhen(flags.from, '--from') : undefined;
      const to = flags.to ? parseWhen(flags.to, '--to', { endOfDay: true }) : undefined;
      if (from && to && from > to) throw new UsageError('--from is after --to');
      if (flags.out) checkWritable(flags.out);
      await inWorkspace(flags, async (ws) => {
        await requireTenant(ws, flags.tenant);
        const [snapshots, verdict, allAnnotations, journal, anchors] = await Promise.all([
          ws.store.listSnapshots(flags.tenant, { from, to }),
          verifyInWorkspace(ws, flags.tenant, flags.intervalMinutes),
          ws.store.listAnnotations(flags.tenant),
          ws.store.journal.list(flags.tenant),
          ws.anchors.read(flags.tenant),
        ]);
        // Attributions found after a change was recorded (late audit events), for the exported snapshots only.
        const seqs = new Set(snapshots.map((s) => s.seq));
        const annotations = allAnnotations.filter((a) => seqs.has(a.snapshotSeq));
        const text =
          flags.format === 'json'
            ? `${JSON.stringify(
                {
                  tenant: flags.tenant,
                  exportedAt: new Date().toISOString(),
                  range: { from: from ?? null, to: to ?? null },
                  chain: verdict,
                  snapshots,
                  annotations,
                  // The whole journal and every stored anchor, byte for byte: docs/audit-recipe.md checks them without sdim-guard.
                  journal,
                  anchors: { source: anchors.source, evidence: anchors.evidence },
                },
                null,
                2,
              )}\n`
            : toCsv(snapshots, annotations);
        if (flags.out) {
          try {
            writeFileSync(flags.out, text);
          } catch (error) {
            throw new Error(`--out ${flags.out}: cannot write it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
          }
          process.stderr.write(
            `Wrote ${plural(snapshots.length, 'snapshot')} to ${flags.out} (chain ${verdict.ok ? 'verified' : 'BROKEN'}).\n`,
          );
        } else {
          process.stdout.write(text);
        }
        if (!verdict.ok) process.exitCode = 1;
      });
    },
  );
}

/** Checked before anything is read: a missing folder is a typo the user fixes, not a raw ENOENT after the work. */
function checkWritable(out: string): void {
  const folder = dirname(resolve(out));
  if (!existsSync(folder)) throw new UsageError(`--out ${out}: the folder ${folder} does not exist`);
  if (!statSync(folder).isDirectory()) throw new UsageError(`--out ${out}: ${folder} is not a folder`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a folder; name a file`);
}

const CSV_COLUMNS = [
  'seq',
  'takenAt',
  'snapshotHash',
  'prevHash',
  'resourceKey',
  'name',
  'change',
  'severity',
  'classification',
  'requestId',
  'fromHash',
  'toHash',
  'version',
  'actor',
  'actors',
  'attribution',
  'eventTime',
  'trackingNumber',
];

function toCsv(snapshots: StoredSnapshot[], annotations: AttributionAnnotation[]): string {
  const cell = (v: unknown) => {
    const s = v === undefined || v === null ? '' : String(v);
    // Quote when needed, and defuse spreadsheet formulas in names (CSV injection).
    const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
    return /[",\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  const rows = [CSV_COLUMNS.join(',')];
  for (const s of snapshots) {
    if (s.changes.length === 0)
      rows.push([s.seq, s.takenAt, s.hash, s.prevHash, '', '', 'none', ...CSV_COLUMNS.slice(7).map(() => '')].map(cell).join(','));
    for (const c of s.changes) {
      const attribution = currentAttribution(c.key, s.seq, c.attribution, annotations);
      rows.push(
        [
          s.seq,
          s.takenAt,
          s.hash,
          s.prevHash,
          c.key,
          c.name,
          s.baseline ? 'baseline' : c.change,
          c.severity,
          c.classification,
          c.requestId,
          c.fromHash,
          c.toHash,
          c.version,
          attribution?.actor,
          attribution?.actors.join(' '),
          attribution ? describeAttribution(attribution) : undefined,
          attribution?.eventTime,
          attribution?.trackingNumber,
        ]
          .map(cell)
          .join(','),
      );
    }
  }
  return `${rows.join('\n')}\n`;
}
