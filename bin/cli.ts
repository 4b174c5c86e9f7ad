import { Command, CommanderError } from 'commander';
import { RequestRefused } from '../lambdas/domain/change-request';
import { scrubText } from '../lambdas/domain/secrets';
import { WorkspaceNotFound } from '../local/workspace';
import { registerAuditCommands } from './commands/audit';
import { registerConsoleCommand } from './commands/console';
import { registerDriftCommands } from './commands/drift';
import { registerEmulatorCommand } from './commands/emulator';
import { registerHistoryCommands } from './commands/history';
import { registerIntegrationsCommand } from './commands/integrations';
import { UsageError } from './commands/options';
import { registerRequestCommands } from './commands/requests';
import { registerSnapshotCommand } from './commands/snapshot';
import { registerBenchCommand, registerDemoCommand, registerStartCommands } from './commands/start';

/** Builds the `sdim-guard` program; every command registers itself here. */
export function buildProgram(): Command {
  const program = new Command('sdim-guard')
    .description('Snapshots, drift alerts and four-eyes change control for SailPoint ISC service desk integrations.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerEmulatorCommand(program);
  registerSnapshotCommand(program);
  registerHistoryCommands(program);
  registerIntegrationsCommand(program);
  registerDriftCommands(program);
  registerAuditCommands(program);
  registerRequestCommands(program);
  registerStartCommands(program);
  registerDemoCommand(program);
  registerBenchCommand(program);
  registerConsoleCommand(program);
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 on success; 1 when the operation failed or the stored state refused it
 * (unknown tenant, no such request, not yours to approve, a conflict); 2 on bad usage (a flag, a value or a
 * combination that can never work, a mistyped --data-dir).
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (and help for --help, which exits 0).
      return error.exitCode === 0 ? 0 : 2;
    }
    if (
      error instanceof UsageError ||
      error instanceof WorkspaceNotFound ||
      (error instanceof RequestRefused && error.code === 'invalid')
    ) {
      process.stderr.write(`error: ${scrubText(error.message)}\n`);
      return 2;
    }
    process.stderr.write(`error: ${scrubText(error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  }
}
