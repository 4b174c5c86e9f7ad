import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

export const CONSOLE_SOURCE = join(__dirname, 'app');
export const CONSOLE_ASSETS = join(__dirname, '..', 'dist', 'console');

/**
 * Bundles the console's web app (Preact + jsdiff) into one script and one stylesheet: everything it needs is in the
 * bundle, nothing is fetched from elsewhere at run time. Run by `npm ci` (prepare) and by the console tests.
 */
export async function buildConsole(outDir = CONSOLE_ASSETS): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(CONSOLE_SOURCE, 'main.tsx')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  copyFileSync(join(CONSOLE_SOURCE, 'index.html'), join(outDir, 'index.html'));
  copyFileSync(join(CONSOLE_SOURCE, 'app.css'), join(outDir, 'app.css'));
  return outDir;
}

if (require.main === module) {
  buildConsole().then(
    (dir) => process.stdout.write(`console web app built in ${dir}\n`),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
