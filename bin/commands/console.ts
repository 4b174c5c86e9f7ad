import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_DATA_DIR, openWorkspace } from '../../local/workspace';
import { integerOption, nonEmptyOption, UsageError, untilSignal } from './options';

interface ConsoleFlags {
  dataDir: string;
  port: number;
  apiUrl?: string;
  as?: string;
}

export function registerConsoleCommand(program: Command): void {
  program
    .command('console')
    .description('The approval console in the browser: requests, drift, history and integrations, on 127.0.0.1 only.')
    .option('--port <port>', 'port on 127.0.0.1 (0: a free one)', integerOption(0, 65_535), 0)
    .option('--api-url <url>', 'the deployed approval API (default: $SDIM_GUARD_API_URL); calls are signed with your AWS credentials')
    .option('--as <user>', 'who you are locally (the deployed API takes your AWS identity instead)', nonEmptyOption)
    .option('--data-dir <dir>', 'local store (attaches to a running sdim-guard start on it)', nonEmptyOption, DEFAULT_DATA_DIR)
    .action(async (flags: ConsoleFlags) => {
      const apiUrl = flags.apiUrl ?? process.env.SDIM_GUARD_API_URL;
      if (apiUrl && flags.as) throw new UsageError('--as is not accepted with --api-url: the caller is your AWS identity (SigV4)');
      if (!apiUrl && !flags.as)
        throw new UsageError('--as <user> is required locally (or give --api-url to use the deployed API as yourself)');
      // Loaded here, not at start-up: the console's server, handlers and SigV4 signer cost every other command ~0.5 s.
      const { awsBackend, localBackend } = require('../../console/backends') as typeof import('../../console/backends');
      const { buildConsole, CONSOLE_ASSETS } = require('../../console/build') as typeof import('../../console/build');
      const { startConsole } = require('../../console/server') as typeof import('../../console/server');
      // A clone gets the web app built by `npm ci`; build it here if that step was skipped.
      if (!existsSync(join(CONSOLE_ASSETS, 'index.html'))) await buildConsole();
      const ws = apiUrl ? undefined : await openWorkspace(flags.dataDir);
      try {
        const backend = apiUrl ? awsBackend(apiUrl) : localBackend(ws as NonNullable<typeof ws>, flags.as as string);
        const running = await startConsole({ backend, assetsDir: CONSOLE_ASSETS, port: flags.port }).catch(
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'EADDRINUSE') throw new UsageError(`port ${flags.port} on 127.0.0.1 is taken: pick another with --port`);
            throw error;
          },
        );
        process.stdout.write(
          `sdim-guard console on ${running.url}/ (${apiUrl ? `deployed API ${apiUrl}, signed with your AWS credentials` : `local, as ${flags.as}`}); Ctrl-C stops it\n`,
        );
        await untilSignal();
        await running.stop();
      } finally {
        await ws?.close();
      }
    });
}
