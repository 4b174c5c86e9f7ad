import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describeAttribution } from '../../lambdas/domain/attribution';
import { isActive } from '../../lambdas/domain/classify';
import { parseWhen } from './dates';
import { requireTenant } from './history';
import { nonEmptyOption, Refusal, UsageError } from './options';
import { attributionLines, classificationColour, patchLines, severityColour, table } from './render';
import { inWorkspace, print, resourceKeyFrom, type WorkspaceFlags, withWorkspaceOptions } from './workspace-options';

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
      .description('Acknowledge a drift with a reason, until a date; it alerts again if still present then.')
      .requiredOption('--tenant <name>', 'tenant name', nonEmptyOption)
      .option('--integration <id>', 'the drifted integration')
      .option('--status-check', 'the drifted status-check configuration')
      .requiredOption('--reason <text>', 'why this drift is acceptable', nonEmptyOption)
      .requiredOption(
        '--until <date>',
        'when the acceptance ends: a day (2026-12-31, to its end, UTC) or an ISO time; at most maxAcceptanceDays (90) away',
      )
      .option('--as <user>', 'who accepts (default: the logged-in user)', nonEmptyOption),
  ).action(
    async (
      flags: WorkspaceFlags & { tenant: string; integration?: string; statusCheck?: boolean; reason: string; until: string; as?: string },
    ) => {
      const key = resourceKeyFrom(flags) as string;
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
        const { drifts } = await ws.store.loadState(flags.tenant);
        const drift = drifts.find((d) => d.key === key);
        if (!drift)
          throw new Refusal(`no drift on ${key} in tenant '${flags.tenant}' to accept (see: sdim-guard drift --tenant ${flags.tenant})`);
        const acceptance = {
          key,
          contentHash: drift.toHash,
          reason: flags.reason,
          by: flags.as ?? userInfo().username,
          at: now.toISOString(),
          until,
        };
        if (
          drift.status === 'accepted' &&
          drift.acceptance &&
          isActive(drift.acceptance, now) &&
          drift.acceptance.until === until &&
          drift.acceptance.reason === flags.reason
        ) {
          print(flags, { ...drift }, () => `Already accepted until ${until}.`);
          return;
        }
        const accepted = { ...drift, status: 'accepted' as const, acceptance };
        await ws.store.putDrift(flags.tenant, accepted, { type: 'drift-accepted', at: acceptance.at, by: acceptance.by });
        print(flags, accepted, () => `Accepted drift on ${drift.resource.name} until ${until} (${flags.reason}).`);
      });
    },
  );
}
