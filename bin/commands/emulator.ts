import type { Command } from 'commander';
import { fractionOption, integerOption, nonEmptyOption, UsageError, untilSignal } from './options';

interface EmulatorFlags {
  port: number;
  host: string;
  integrations: number;
  seed: number;
  latencyMs: number;
  faultRate: number;
  clientId?: string;
  clientSecret?: string;
  tokenTtl: number;
  churn: number;
  eventDelayMs: number;
  rateLimit: boolean;
  json?: boolean;
}

export function registerEmulatorCommand(program: Command): void {
  program
    .command('emulator')
    .description("Run the ISC emulator alone: a local, stateful stand-in for a tenant's service-desk-integration API.")
    .option('--port <port>', 'port to listen on (0 picks a free one)', integerOption(0, 65535), 0)
    .option('--host <host>', 'interface to bind', nonEmptyOption, '127.0.0.1')
    .option('--integrations <n>', 'seeded integrations, every documented type', integerOption(0, 100_000), 25)
    .option('--seed <s>', 'seed for the data; same seed, same tenant', integerOption(0, 2 ** 31 - 1), 1)
    .option('--latency-ms <ms>', 'latency added to every response', integerOption(0, 60_000), 0)
    .option('--fault-rate <r>', 'share of API requests answered with an injected 429 or 5xx (0-1)', fractionOption, 0)
    .option('--client-id <id>', 'client id the token endpoint accepts (default: generated)', nonEmptyOption)
    .option('--client-secret <secret>', 'client secret the token endpoint accepts (default: generated)', nonEmptyOption)
    .option('--token-ttl <seconds>', 'access token lifetime', integerOption(1, 86_400), 749)
    .option('--churn <n>', 'after each listing page, delete n listed integrations and create n new ones', integerOption(0, 250), 0)
    .option(
      '--event-delay-ms <ms>',
      'delay before an audit event becomes searchable (ISC indexes within minutes)',
      integerOption(0, 86_400_000),
      0,
    )
    .option('--no-rate-limit', 'turn off the 100 requests / 10 s limit')
    .option('--json', 'print the URL and credentials as one JSON line')
    .action(async (flags: EmulatorFlags) => {
      if ((flags.clientId === undefined) !== (flags.clientSecret === undefined)) {
        throw new UsageError('--client-id and --client-secret go together: give both or neither.');
      }
      const { IscEmulator } = require('../../local/emulator/server') as typeof import('../../local/emulator/server');
      const emulator = new IscEmulator({
        port: flags.port,
        host: flags.host,
        integrations: flags.integrations,
        seed: flags.seed,
        latencyMs: flags.latencyMs,
        faultRate: flags.faultRate,
        clients: flags.clientId && flags.clientSecret ? [{ clientId: flags.clientId, clientSecret: flags.clientSecret }] : undefined,
        tokenTtlSeconds: flags.tokenTtl,
        rateLimit: flags.rateLimit ? undefined : false,
        listingChurn: { deletes: flags.churn, creates: flags.churn },
        eventDelayMs: flags.eventDelayMs,
      });
      // Listen for Ctrl-C before announcing readiness, so a signal sent right after the banner is never missed.
      const stopped = untilSignal();
      let url: string;
      try {
        url = await emulator.start();
      } catch (error) {
        throw new Error(`cannot listen on ${flags.host}:${flags.port}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
      const [client] = emulator.clients;
      if (!client) throw new Error('the emulator has no client credentials');
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ url, clientId: client.clientId, clientSecret: client.clientSecret })}\n`);
      } else {
        process.stdout.write(
          [
            `ISC emulator listening on ${url}`,
            `  API:            ${url}/service-desk-integrations/v1 (deprecated: /v3, /v2024, /v2025, /v2026)`,
            `  audit events:   POST ${url}/search/v1 (deprecated: /v3/search), indices ["events"]`,
            `  token:          POST ${url}/oauth/token (grant_type=client_credentials)`,
            `  client id:      ${client.clientId}`,
            `  client secret:  ${client.clientSecret}`,
            `  integrations:   ${emulator.state.size} (seed ${flags.seed})`,
            'Ctrl-C to stop.',
            '',
          ].join('\n'),
        );
      }
      await stopped;
      await emulator.stop();
    });
}
