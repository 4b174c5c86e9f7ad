import type { Command } from 'commander';
import { requireTenant } from './history';
import { nonEmptyOption } from './options';
import { clip, severityColour, table } from './render';
import { inWorkspace, print, type WorkspaceFlags, withWorkspaceOptions } from './workspace-options';

export interface IntegrationRow {
  readonly id: string;
  readonly name: string;
  readonly type: string | null;
  /** The snapshot that recorded the current version, and when. */
  readonly lastChange: { readonly seq: number; readonly at: string | null; readonly change: string | null };
  /** Drift standing on it: open (unexpected, not accepted), accepted, or none. */
  readonly drift: { readonly status: 'open' | 'accepted'; readonly severity: string; readonly until?: string } | null;
}

/** `sdim-guard integrations`: what the store knows of a tenant's integrations, without asking ISC. */
export function registerIntegrationsCommand(program: Command): void {
  withWorkspaceOptions(
    program
      .command('integrations')
      .description("List a tenant's integrations as last snapshotted: id, name, type, last change and standing drift.")
      .requiredOption('--tenant <name>', 'tenant name', nonEmptyOption),
  ).action(async (flags: WorkspaceFlags & { tenant: string }) => {
    await inWorkspace(flags, async (ws) => {
      await requireTenant(ws, flags.tenant);
      const [state, snapshots] = await Promise.all([ws.store.loadState(flags.tenant), ws.store.listSnapshots(flags.tenant)]);
      const known = [...state.known.values()].filter((k) => k.ref.kind === 'integration');
      const contents = await ws.store.loadContents(
        flags.tenant,
        known.map((k) => ({ key: k.key, version: k.version })),
      );
      const bySeq = new Map(snapshots.map((s) => [s.seq, s]));
      const drifts = new Map(state.drifts.map((d) => [d.key, d]));
      const rows: IntegrationRow[] = known
        .map((k) => {
          const snapshot = bySeq.get(k.version);
          const drift = drifts.get(k.key);
          const type = contents.get(k.key)?.type;
          return {
            id: k.ref.id,
            name: k.ref.name,
            type: typeof type === 'string' ? type : null,
            lastChange: {
              seq: k.version,
              at: snapshot?.takenAt ?? null,
              change: snapshot?.baseline ? 'baseline' : (snapshot?.changes.find((c) => c.key === k.key)?.change ?? null),
            },
            drift: drift
              ? { status: drift.status, severity: drift.severity, ...(drift.acceptance ? { until: drift.acceptance.until } : {}) }
              : null,
          };
        })
        .sort((a, b) => a.name.localeCompare(b.name));
      print(flags, rows, () =>
        rows.length === 0
          ? `No integrations recorded for ${flags.tenant}.`
          : table(
              ['id', 'name', 'type', 'last change', 'drift'],
              rows.map((r) => [
                r.id,
                clip(r.name, 22),
                clip(r.type ?? '-', 14),
                `#${r.lastChange.seq} ${r.lastChange.change ?? ''} ${r.lastChange.at?.slice(0, 16).replace('T', ' ') ?? ''}`.trim(),
                r.drift ? `${r.drift.status === 'open' ? 'OPEN' : 'accepted'} ${severityColour(r.drift.severity)}` : '-',
              ]),
            ),
      );
    });
  });
}
