import type { Command } from 'commander';
import { compare, type Operation } from 'fast-json-patch';
import pc from 'picocolors';
import { type Attribution, currentAttribution, describeAttribution } from '../../lambdas/domain/attribution';
import { versionsAt } from '../../lambdas/domain/chain';
import type { Workspace } from '../../local/workspace';
import { nonEmptyOption, Refusal } from './options';
import { patchLines, short, table } from './render';
import { inWorkspace, positiveInt, print, resourceKeyFrom, type WorkspaceFlags, withWorkspaceOptions } from './workspace-options';

interface ResourceFlags extends WorkspaceFlags {
  tenant: string;
  integration?: string;
  statusCheck?: boolean;
}

export function registerHistoryCommands(program: Command): void {
  withWorkspaceOptions(
    program
      .command('history')
      .description("List a tenant's snapshots, or the stored versions of one resource.")
      .requiredOption('--tenant <name>', 'tenant name', nonEmptyOption)
      .option('--integration <id>', 'versions of this integration')
      .option('--status-check', 'versions of the status-check configuration')
      .option('--limit <n>', 'only the latest n entries'),
  ).action(async (flags: ResourceFlags & { limit?: string }) => {
    const limit = flags.limit === undefined ? undefined : positiveInt(flags.limit, '--limit');
    const key = resourceKeyFrom(flags, false);
    await inWorkspace(flags, async (ws) => {
      await requireTenant(ws, flags.tenant);
      const [allSnapshots, annotations] = await Promise.all([ws.store.listSnapshots(flags.tenant), ws.store.listAnnotations(flags.tenant)]);
      const attributionOf = (seq: number, changeKey: string) => {
        const change = allSnapshots.find((s) => s.seq === seq)?.changes.find((c) => c.key === changeKey);
        return change ? currentAttribution(changeKey, seq, change.attribution, annotations) : undefined;
      };
      if (key) {
        const versions = (await ws.store.listVersions(flags.tenant, key))
          .slice(-(limit ?? Number.MAX_SAFE_INTEGER))
          .map((v) => ({ ...v, attribution: attributionOf(v.version, key) }));
        if (versions.length === 0) throw new Refusal(`no history for ${key} in tenant '${flags.tenant}'`);
        print(flags, versions, () =>
          table(
            ['version', 'taken at', 'change', 'content hash', 'name', 'by'],
            versions.map((v) => [
              String(v.version),
              v.takenAt,
              v.change,
              short(v.contentHash),
              v.ref.name,
              describeAttribution(v.attribution),
            ]),
          ),
        );
        return;
      }
      const snapshots = allSnapshots.slice(-(limit ?? Number.MAX_SAFE_INTEGER));
      const actorsOf = (s: (typeof snapshots)[number]) => {
        const who = s.changes.map((c) => currentAttribution(c.key, s.seq, c.attribution, annotations)).filter((a) => a !== undefined);
        return [...new Set(who.map((a) => (a.confidence === 'unknown' ? 'unknown' : a.actors.join(', '))))].join('; ');
      };
      print(
        flags,
        snapshots.map(({ changes, ...s }) => ({
          ...s,
          changeCount: changes.length,
          changes: changes.map((c) => ({ ...c, attribution: currentAttribution(c.key, s.seq, c.attribution, annotations) })),
        })),
        () =>
          table(
            ['#', 'taken at', 'resources', 'changes', 'unexpected', 'hash', 'by'],
            snapshots.map((s) => [
              String(s.seq),
              s.takenAt,
              String(s.resourceCount),
              s.baseline
                ? 'baseline'
                : s.changes.some((c) => c.classification === 'repoint')
                  ? `${s.changes.length} (repoint)`
                  : String(s.changes.length),
              String(s.changes.filter((c) => c.classification === 'unexpected').length),
              short(s.hash),
              s.baseline ? '' : actorsOf(s),
            ]),
          ),
      );
    });
  });

  withWorkspaceOptions(
    program
      .command('diff')
      .description('Field-level differences between two snapshots, or between two versions of one resource.')
      .requiredOption('--tenant <name>', 'tenant name', nonEmptyOption)
      .requiredOption('--from <n>', 'snapshot number (or version number with --integration/--status-check)')
      .option('--to <n>', 'snapshot or version number (default: the latest)')
      .option('--integration <id>', 'compare two versions of this integration')
      .option('--status-check', 'compare two versions of the status-check configuration'),
  ).action(async (flags: ResourceFlags & { from: string; to?: string }) => {
    const from = positiveInt(flags.from, '--from');
    const key = resourceKeyFrom(flags, false);
    await inWorkspace(flags, async (ws) => {
      await requireTenant(ws, flags.tenant);
      const diffs = key ? await versionDiff(ws, flags.tenant, key, from, flags.to) : await snapshotDiff(ws, flags.tenant, from, flags.to);
      print(flags, diffs, () => {
        if (diffs.length === 0) return 'No differences.';
        return diffs
          .flatMap((d) => [
            `${pc.bold(d.key)} ${d.name ?? ''} ${pc.dim(`(${d.from ?? 'absent'} → ${d.to ?? 'absent'})`)}`,
            ...d.by.map((a) => pc.dim(`    by ${describeAttribution(a)}`)),
            ...patchLines(d.patch),
          ])
          .join('\n');
      });
    });
  });
}

interface ResourceDiff {
  key: string;
  name?: string;
  from: number | null;
  to: number | null;
  patch: Operation[];
  /** Who made the changes between the two, one attribution per recorded change (annotations applied). */
  by: Attribution[];
}

/** The attributions of the changes recorded on `key` after snapshot `from` up to `to`. */
async function attributionsBetween(ws: Workspace, tenant: string, key: string, from: number, to: number): Promise<Attribution[]> {
  const [snapshots, annotations] = await Promise.all([ws.store.listSnapshots(tenant), ws.store.listAnnotations(tenant)]);
  return snapshots
    .filter((s) => s.seq > Math.min(from, to) && s.seq <= Math.max(from, to))
    .flatMap((s) => s.changes.filter((c) => c.key === key).map((c) => currentAttribution(key, s.seq, c.attribution, annotations)))
    .filter((a): a is Attribution => a !== undefined);
}

async function snapshotDiff(ws: Workspace, tenant: string, from: number, toRaw: string | undefined): Promise<ResourceDiff[]> {
  const snapshots = await ws.store.listSnapshots(tenant);
  const latest = snapshots.at(-1)?.seq ?? 0;
  const to = toRaw === undefined ? latest : positiveInt(toRaw, '--to');
  for (const [option, seq] of [
    ['--from', from],
    ['--to', to],
  ] as const) {
    if (seq > latest) throw new Refusal(`${option} ${seq}: tenant '${tenant}' has snapshots 1 to ${latest}`);
  }
  const before = versionsAt(snapshots, from);
  const after = versionsAt(snapshots, to);
  const keys = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k)?.hash !== after.get(k)?.hash).sort();
  const out: ResourceDiff[] = [];
  for (const key of keys) {
    const a = before.get(key);
    const b = after.get(key);
    const left = a ? ((await ws.store.getVersionContent(tenant, key, a.version)) ?? {}) : {};
    const right = b ? ((await ws.store.getVersionContent(tenant, key, b.version)) ?? {}) : {};
    out.push({
      key,
      name: b?.name ?? a?.name,
      from: a?.version ?? null,
      to: b?.version ?? null,
      patch: compare(left, right),
      by: await attributionsBetween(ws, tenant, key, from, to),
    });
  }
  return out;
}

async function versionDiff(ws: Workspace, tenant: string, key: string, from: number, toRaw: string | undefined): Promise<ResourceDiff[]> {
  const versions = await ws.store.listVersions(tenant, key);
  if (versions.length === 0) throw new Refusal(`no history for ${key} in tenant '${tenant}'`);
  const to = toRaw === undefined ? (versions.at(-1)?.version as number) : positiveInt(toRaw, '--to');
  const content = async (version: number, option: string) => {
    if (!versions.some((v) => v.version === version)) {
      throw new Refusal(`${option} ${version}: ${key} has versions ${versions.map((v) => v.version).join(', ')}`);
    }
    return (await ws.store.getVersionContent(tenant, key, version)) ?? {};
  };
  const patch = compare(await content(from, '--from'), await content(to, '--to'));
  return patch.length === 0
    ? []
    : [{ key, name: versions.at(-1)?.ref.name, from, to, patch, by: await attributionsBetween(ws, tenant, key, from, to) }];
}

export async function requireTenant(ws: Workspace, tenant: string): Promise<void> {
  if (!(await ws.tenants.get(tenant))) {
    const known = (await ws.tenants.list()).map((t) => t.name);
    throw new Refusal(
      `unknown tenant '${tenant}'${known.length ? ` (known: ${known.join(', ')})` : ''}: take a snapshot with --tenant-url first`,
    );
  }
}
