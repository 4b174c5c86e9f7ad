import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describeAttribution } from '../../lambdas/domain/attribution';
import type { DriftRecord, TenantState } from '../../lambdas/ports/snapshot-store';
import { acceptDrifts } from '../../lambdas/use-cases/console-reads';
import type { Workspace } from '../../local/workspace';
import { parseWhen } from './dates';
import { requireTenant } from './history';
import { nonEmptyOption, Refusal, UsageError } from './options';
import { attributionLines, classificationColour, patchLines, plural, severityColour, table } from './render';
import { inWorkspace, print, type WorkspaceFlags, withWorkspaceOptions } from './workspace-options';

export function registerDriftCommands(program: Command): void {
  withWorkspaceOptions(
    program
      .command('drift')
      .description('Show unexpected changes still standing: open ones, and accepted ones with their expiry.')
      .requiredOption('--tenant <name>', 'tenant name', nonEmptyOption)
      .option('--open', 'only drift nobody has accepted'),
  ).action(async (flags: WorkspaceFlags & { tenant: string; open?: boolean }) => {
    await inWorkspace(flags, async (ws) => {
      await requireTenant(ws, flags.tenant);
      const { drifts } = await ws.store.loadState(flags.tenant);
      const shown = drifts.filter((d) => !flags.open || d.status === 'open').sort((a, b) => a.detectedAt.localeCompare(b.detectedAt));
      print(flags, shown, () => {
        if (shown.length === 0) return 'No drift.';
        const rows = shown.map((d) => [
          d.status === 'open' ? classificationColour('unexpected') : `accepted until ${d.acceptance?.until ?? '?'}`,
          severityColour(d.severity),
          d.change,
          `${d.resource.kind} ${d.resource.name} (${d.resource.id})`,
          d.detectedAt,
          describeAttribution(d.attribution),
        ]);
        const details = shown.flatMap((d) => [
          `${d.resource.name}:`,
          ...attributionLines(d.attribution, '  '),
          ...patchLines(d.patch, '  '),
        ]);
        return `${table(['status', 'severity', 'change', 'resource', 'detected', 'by'], rows)}\n\n${details.join('\n')}`;
      });
    });
  });

  withWorkspaceOptions(
    program
      .command('accept')
      .description(
        'Acknowledge drift with a reason, until a date; it alerts again if still present then. Name it (--integration, repeatable; --status-check) or select open drift (--all, --severity, --type).',
      )
      .requiredOption('--tenant <name>', 'tenant name', nonEmptyOption)
      .option('--integration <id>', 'a drifted integration (repeatable)', (v: string, all: string[]) => [...all, v], [])
      .option('--status-check', 'the drifted status-check configuration')
      .option('--all', 'every open drift of the tenant')
      .option('--severity <level>', 'open drift of this severity (low, medium, high)')
      .option('--type <type>', 'open drift of integrations of this type (e.g. ServiceNowSDIM)', nonEmptyOption)
      .requiredOption('--reason <text>', 'why this drift is acceptable', nonEmptyOption)
      .requiredOption(
        '--until <date>',
        'when the acceptance ends: a day (2026-12-31, to its end, UTC) or an ISO time; at most maxAcceptanceDays (90) away',
      )
      .option('--as <user>', 'who accepts (default: the logged-in user)', nonEmptyOption),
  ).action(async (flags: AcceptFlags) => {
    const named = flags.integration.length > 0 || flags.statusCheck === true;
    const filtered = flags.all === true || flags.severity !== undefined || flags.type !== undefined;
    if (named === filtered) {
      throw new UsageError(
        'name the drift (--integration ID…, --status-check) or select it (--all, --severity, --type), not both or neither',
      );
    }
    if (flags.severity !== undefined && !['low', 'medium', 'high'].includes(flags.severity)) {
      throw new UsageError(`--severity must be low, medium or high, not '${flags.severity}'`);
    }
    const until = parseWhen(flags.until, '--until', { endOfDay: true });
    const now = new Date();
    if (Date.parse(until) <= now.getTime()) throw new UsageError(`--until ${flags.until} is not in the future`);
    await inWorkspace(flags, async (ws) => {
      const maxDays = ws.settings.maxAcceptanceDays;
      if (Date.parse(until) > now.getTime() + maxDays * 86_400_000) {
        throw new UsageError(
          `--until ${flags.until} is more than ${maxDays} days away (maxAcceptanceDays in ${join(ws.dataDir, 'settings.json')}); accept it again when it runs out`,
        );
      }
      await requireTenant(ws, flags.tenant);
      const state = await ws.store.loadState(flags.tenant);
      const targets = named ? namedDrifts(flags, state.drifts) : await selectedDrifts(ws, flags, state);
      const by = flags.as ?? userInfo().username;
      const results =
        targets.length === 0
          ? []
          : await acceptDrifts(flags.tenant, { keys: targets.map((d) => d.key), reason: flags.reason, until }, by, {
              history: ws.store,
              tenants: ws.tenants,
              clock: { now: () => now },
              maxAcceptanceDays: maxDays,
            });
      const output = results.map(({ already: _a, ...d }) => d);
      print(flags, named && output.length === 1 ? output[0] : output, () => {
        const lines = results.map(
          (d) =>
            `  ${d.already ? 'already accepted' : 'accepted'}  ${severityColour(d.severity)}  ${d.change} ${d.resource.kind} ${d.resource.name} (${d.resource.id})`,
        );
        const count = results.filter((d) => !d.already).length;
        if (results.length === 0) return 'No open drift matches; nothing accepted.';
        return [`Accepted ${plural(count, 'drift')} until ${until} (${flags.reason}):`, ...lines].join('\n');
      });
    });
  });
}

interface AcceptFlags extends WorkspaceFlags {
  tenant: string;
  integration: string[];
  statusCheck?: boolean;
  all?: boolean;
  severity?: string;
  type?: string;
  reason: string;
  until: string;
  as?: string;
}

/** Every named resource must have a drift to accept: a typo in one id refuses the whole command. */
function namedDrifts(flags: AcceptFlags, drifts: readonly DriftRecord[]): DriftRecord[] {
  const keys = [...flags.integration.map((id) => `integration:${id}`), ...(flags.statusCheck ? ['status-check:tenant'] : [])];
  const missing = keys.filter((k) => !drifts.some((d) => d.key === k));
  if (missing.length > 0) {
    throw new Refusal(
      `no drift on ${missing.join(', ')} in tenant '${flags.tenant}' to accept (see: sdim-guard drift --tenant ${flags.tenant})`,
    );
  }
  return keys.map((k) => drifts.find((d) => d.key === k) as DriftRecord);
}

/** Open drift matching every filter given; --type is read from the stored version of each drifted integration. */
async function selectedDrifts(ws: Workspace, flags: AcceptFlags, state: TenantState): Promise<DriftRecord[]> {
  let open = state.drifts.filter((d) => d.status === 'open' && (flags.severity === undefined || d.severity === flags.severity));
  if (flags.type !== undefined) {
    const refs = open.flatMap((d) => {
      const known = state.known.get(d.key);
      return known ? [{ key: d.key, version: known.version }] : [];
    });
    const contents = await ws.store.loadContents(flags.tenant, refs);
    open = open.filter((d) => contents.get(d.key)?.type === flags.type);
  }
  return open.sort((a, b) => a.key.localeCompare(b.key));
}
