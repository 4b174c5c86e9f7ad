import { join } from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import type { LocalStack } from '../../local/runtime/local-stack';
import { DEFAULT_DATA_DIR } from '../../local/workspace';
import { fractionOption, integerOption, nonEmptyOption, UsageError, untilSignal } from './options';

interface StartFlags {
  dataDir: string;
  interval: number;
  emulatorPort: number;
  integrations: number;
  seed: number;
  latencyMs: number;
  faultRate: number;
  fresh?: boolean;
}

const emulatorOf = (flags: StartFlags) => ({
  port: flags.emulatorPort,
  integrations: flags.integrations,
  seed: flags.seed,
  latencyMs: flags.latencyMs,
  faultRate: flags.faultRate,
});

const stackOptions = (command: Command) =>
  command
    .option('--data-dir <dir>', 'local store (DynamoDB Local files, secrets, alerts)', nonEmptyOption, DEFAULT_DATA_DIR)
    .option('--emulator-port <port>', 'port of the embedded ISC emulator (0 picks a free one)', integerOption(0, 65535), 0)
    .option('--integrations <n>', 'integrations seeded into the emulator', integerOption(0, 100_000), 25)
    .option('--seed <s>', 'seed of the emulator data', integerOption(0, 2 ** 31 - 1), 1)
    .option('--latency-ms <ms>', 'latency the emulator adds', integerOption(0, 60_000), 0)
    .option('--fault-rate <r>', 'share of emulator requests answered 429/5xx (0-1)', fractionOption, 0)
    .option('--fresh', 're-seed the embedded emulator instead of resuming <data-dir>/emulator.json');

/** Loaded by the commands that run it: the other commands start faster without the stack's modules. */
const stackModule = () => require('../../local/runtime/local-stack') as typeof import('../../local/runtime/local-stack');

export function registerStartCommands(program: Command): void {
  stackOptions(
    program
      .command('start')
      .description('Run sdim-guard locally on embedded defaults: DynamoDB Local, a seeded ISC emulator, snapshots on a schedule.')
      .option('--interval <seconds>', 'seconds between snapshots of each tenant', integerOption(1, 86_400), 30),
  ).action(async (flags: StartFlags) => {
    const stopped = untilSignal();
    const { startLocalStack } = stackModule();
    const stack = await startLocalStack({
      dataDir: flags.dataDir,
      intervalMs: flags.interval * 1000,
      emulator: emulatorOf(flags),
      fresh: flags.fresh,
    });
    banner(stack, flags.interval);
    stack.run();
    await stopped;
    process.stdout.write('Stopping…\n');
    await stack.stop();
    process.stdout.write('Stopped.\n');
  });

  stackOptions(
    program
      .command('local')
      .description('Run the local runtime once: one scheduler tick for every known tenant, apply the queued changes, then exit.')
      .requiredOption('--once', 'one tick, then exit (the only mode; `start` runs continuously)'),
  ).action(async (flags: StartFlags) => {
    const { startLocalStack } = stackModule();
    const stack = await startLocalStack({
      dataDir: flags.dataDir,
      intervalMs: 60_000,
      emulator: emulatorOf(flags),
      fresh: flags.fresh,
    });
    try {
      const failures = await stack.tickOnce();
      if (failures.size > 0) process.exitCode = 1;
    } finally {
      await stack.stop();
    }
  });
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('Run every benchmark in one process and print the figures (npm run bench).')
    .option('--json', 'print the figures as JSON')
    .option('--quick', 'smaller sizes for a quick look')
    .option('--update-docs', 'rewrite docs/performance.md with the figures')
    .option(
      '--only <parts>',
      'comma-separated: fetch, detection, cold-start, store, apply, scale-out, attribution, verify, end-to-end, cli',
    )
    .action(async (flags: { json?: boolean; quick?: boolean; updateDocs?: boolean; only?: string }) => {
      // Loaded on demand: the benchmarks pull in esbuild and the official SDK, which no other command needs.
      const { BENCH_PARTS, runBench } = require('../../local/bench/run') as typeof import('../../local/bench/run');
      const only = flags.only?.split(',').map((p) => p.trim());
      const unknown = only?.filter((p) => !(BENCH_PARTS as readonly string[]).includes(p));
      if (unknown?.length) throw new UsageError(`--only: unknown part(s) ${unknown.join(', ')}; one of ${BENCH_PARTS.join(', ')}`);
      const { goalsMet } = await runBench({
        ...flags,
        only: only as import('../../local/bench/run').BenchPart[] | undefined,
        root: join(__dirname, '..', '..'),
      });
      if (!goalsMet) process.stderr.write('Some goals were missed (see the Goals table).\n');
    });
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('A scripted story on embedded defaults; exits 0 only if every step behaved.')
    .action(async () => {
      const { runDemo } = require('../../local/runtime/demo') as typeof import('../../local/runtime/demo');
      if (!(await runDemo())) process.exitCode = 1;
    });
}

function banner(stack: LocalStack, interval: number): void {
  const [client] = stack.emulator.clients;
  process.stdout.write(
    [
      pc.bold('sdim-guard is running locally.'),
      `  data:        ${stack.workspace.dataDir} (DynamoDB Local at ${stack.workspace.endpoint})`,
      `  ISC:         emulator at ${stack.emulator.url}, tenant "${stack.tenant}" (client id ${client?.clientId}), ${stack.emulator.restored ? `${stack.emulator.state.size} integrations resumed from ${join(stack.workspace.dataDir, 'emulator.json')} (--fresh re-seeds)` : `${stack.emulator.state.size} integrations seeded`}`,
      `  schedule:    a snapshot of every known tenant each ${interval} s`,
      `  approvals:   API at ${stack.approvalApiUrl} (header x-sdim-guard-user names the caller locally); queue applied every second`,
      `  alerts:      printed here and appended to ${stack.workspace.eventsFile}`,
      `  try:         npx sdim-guard drift --tenant ${stack.tenant}   (in another terminal; it uses this stack's store)`,
      `               npx sdim-guard propose --tenant ${stack.tenant} --integration <id> --patch '[{"op":"replace","path":"/description","value":"x"}]' --as alice --reason CHG-1`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}
