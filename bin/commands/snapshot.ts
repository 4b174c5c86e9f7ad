import type { Command } from 'commander';
import pc from 'picocolors';
import { describeAttribution } from '../../lambdas/domain/attribution';
import { API_VERSIONS, type IscApiVersion, isApiVersion, normaliseTenantUrl } from '../../lambdas/isc/client';
import type { IscCredentials } from '../../lambdas/isc/token-provider';
import { systemClock } from '../../lambdas/ports/clock';
import type { SecretsPort } from '../../lambdas/ports/secrets';
import { assertTenantName, type TenantConfig } from '../../lambdas/ports/tenants';
import { type SnapshotResult, takeSnapshot } from '../../lambdas/use-cases/take-snapshot';
import { snapshotDeps } from '../../lambdas/wiring';
import { mark } from '../../local/timeline';
import { nonEmptyOption, Refusal, UsageError } from './options';
import { attributionLines, classificationColour, patchLines, plural, severityColour, short } from './render';
import { explainIscError, inWorkspace, print, type WorkspaceFlags, withWorkspaceOptions } from './workspace-options';

interface SnapshotFlags extends WorkspaceFlags {
  tenant: string;
  tenantUrl?: string;
  clientId?: string;
  clientSecret?: string;
  apiVersion: IscApiVersion;
  repoint?: boolean;
}

export function registerSnapshotCommand(program: Command): void {
  withWorkspaceOptions(
    program
      .command('snapshot')
      .description('Take one snapshot of a tenant into the local store and report what changed since the last one.')
      .requiredOption('--tenant <name>', 'tenant name (remembered once given with --tenant-url)', nonEmptyOption)
      .option('--tenant-url <url>', 'ISC API root, e.g. https://acme.api.identitynow.com (or an emulator URL)', nonEmptyOption)
      .option('--client-id <id>', 'ISC client id (kept in the local secrets file, never in the store)', nonEmptyOption)
      .option('--client-secret <secret>', 'ISC client secret (kept in the local secrets file, never in the store)', nonEmptyOption)
      .option(
        '--api-version <version>',
        'v1 (the per-service API), or the deprecated v3 / v2024',
        (v) => {
          if (!isApiVersion(v)) throw new UsageError(`--api-version must be one of ${API_VERSIONS.join(', ')}, not '${v}'`);
          return v;
        },
        'v1',
      )
      .option('--repoint', 'allow --tenant-url to move a registered tenant to another ISC (recorded as a repoint, not drift)'),
  ).action(async (flags: SnapshotFlags) => {
    try {
      assertTenantName(flags.tenant);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if ((flags.clientId === undefined) !== (flags.clientSecret === undefined)) {
      throw new UsageError('--client-id and --client-secret go together: give both or neither');
    }
    const url = flags.tenantUrl === undefined ? undefined : parseUrl(flags.tenantUrl);
    await inWorkspace(
      flags,
      async (ws, progress) => {
        const remembered = await ws.tenants.get(flags.tenant);
        if (!remembered && !url) {
          throw new Refusal(`unknown tenant '${flags.tenant}': name it once with --tenant-url URL --client-id ID --client-secret SECRET`);
        }
        const given: IscCredentials | undefined =
          flags.clientId && flags.clientSecret ? { clientId: flags.clientId, clientSecret: flags.clientSecret } : undefined;
        if (!given && !ws.secrets.has(flags.tenant)) {
          throw new Refusal(`no credentials stored for tenant '${flags.tenant}': give --client-id and --client-secret`);
        }
        const moving = remembered !== undefined && url !== undefined && url !== remembered.url;
        if (moving && !flags.repoint) {
          throw new Refusal(
            `tenant '${flags.tenant}' is registered at ${remembered.url}; to point it at ${url} give --repoint (the move is recorded in its history instead of raising every difference as drift)`,
          );
        }
        if (flags.repoint && !moving) throw new UsageError('--repoint goes with a --tenant-url other than the one registered');
        const tenant: TenantConfig = {
          ...(remembered ?? {}),
          name: flags.tenant,
          url: url ?? (remembered as TenantConfig).url,
          apiVersion: url ? flags.apiVersion : (remembered?.apiVersion ?? 'v3'),
          ...(moving ? { repointedFrom: remembered.url, repointedAt: new Date().toISOString() } : {}),
        };
        // Credentials given on this command line are tried first and only remembered once they worked.
        const secrets: SecretsPort = given
          ? { tenantCredentials: async () => given, fingerprintKey: () => ws.secrets.fingerprintKey() }
          : ws.secrets;
        let pages = 0;
        const counting: typeof fetch = async (input, init) => {
          const requested = new URL(input instanceof Request ? input.url : String(input));
          mark(`isc> ${requested.pathname}${requested.search}`);
          const response = await fetch(input, init);
          mark(`isc< ${requested.pathname}${requested.search} ${response.status}`);
          if (/\/service-desk-integrations(\/v1)?(\?|$)/.test(requested.pathname)) pages++;
          return response;
        };
        progress.watch(
          () => `snapshot ${tenant.name}: ${plural(pages, 'page')} fetched, ${plural(ws.activity.itemsWritten, 'item')} written`,
        );
        const deps = await snapshotDeps(tenant, {
          store: ws.store,
          secrets,
          notifier: ws.notifier,
          clock: systemClock,
          settings: ws.settings,
          clientOptions: { retry: { maxAttempts: 4 }, fetch: counting },
          anchors: ws.anchors,
        });
        if (moving) {
          // The new ISC must answer before the move is registered; then it is registered before the snapshot, so a
          // running stack ticking in between also takes its first snapshot there as the repoint, not as drift.
          await deps.isc.getStatusCheckConfig().catch((error: unknown) => {
            throw explainIscError(error, tenant.url);
          });
          if (given) ws.secrets.setTenantCredentials(tenant.name, given);
          await ws.tenants.put(tenant);
        }
        let result: SnapshotResult;
        try {
          mark('snapshot-start');
          result = await takeSnapshot(tenant.name, deps);
          mark('snapshot-end');
        } catch (error) {
          throw explainIscError(error, tenant.url);
        }
        if (given) ws.secrets.setTenantCredentials(tenant.name, given);
        if (!remembered || (url && !moving)) await ws.tenants.put(tenant);
        print(flags, result, () => describe(result));
      },
      { create: url !== undefined },
    );
  });
}

function warningLines(result: SnapshotResult): string[] {
  const late = (result.lateAttributions ?? []).map(
    (l) =>
      `  late attribution: ${l.resource.kind} ${l.resource.name} (${l.resource.id}) of snapshot #${l.snapshotSeq} by ${describeAttribution(l.attribution)}`,
  );
  return [...late, ...(result.warnings ?? []).map((w) => pc.yellow(`  warning: ${w.message}`))];
}

function parseUrl(raw: string): string {
  try {
    return normaliseTenantUrl(raw);
  } catch (error) {
    throw new UsageError(`--tenant-url: ${(error as Error).message}`);
  }
}

export function describe(result: SnapshotResult): string {
  const head = `${pc.bold(`Snapshot #${result.seq}`)} of ${result.tenant}: ${result.resources} resources, hash ${short(result.hash)}${result.baseline ? ' (baseline)' : ''}`;
  const stats = pc.dim(
    `  ${plural(result.stats.iscRequests, 'ISC request')}, fetch ${result.stats.fetchMs} ms, total ${result.stats.totalMs} ms, ${plural(result.stats.itemsWritten, 'item')} written`,
  );
  if (result.changes.length === 0)
    return [head, result.baseline ? '  Every resource recorded as the baseline.' : '  No changes.', ...warningLines(result), stats].join(
      '\n',
    );
  const lines = [head, `  ${plural(result.changes.length, 'change')}:`];
  for (const change of result.changes) {
    lines.push(
      `  ${change.change.padEnd(8)} ${change.resource.kind} ${change.resource.name} (${change.resource.id})  ${severityColour(change.severity)}  ${classificationColour(change.classification)}`,
    );
    lines.push(...attributionLines(change.attribution));
    lines.push(...patchLines(change.patch));
  }
  if (result.alerts.sent + result.alerts.pending > 0) lines.push(`  alerts: ${result.alerts.sent} sent, ${result.alerts.pending} pending`);
  lines.push(...warningLines(result));
  lines.push(stats);
  return lines.join('\n');
}
