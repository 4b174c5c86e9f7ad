#!/usr/bin/env node
// Runs the TypeScript CLI straight from a clone (no build step after `npm ci`); tsx compiles on the fly.
// Registered globally, not through tsx's require API: the API names every module with a per-process ?namespace=
// suffix, so its compile cache never hit and each command compiled the whole CLI again (--help: 1.6 s, now 0.8 s).
require('tsx/cjs');

// The CLI pins its AWS SDK versions; the SDK's notice about future Node.js support is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// A command that needs the local store starts it before the CLI's modules load (they take about a second).
try {
  require('../local/store-spawn.ts').prestartStore(process.argv.slice(2));
} catch {
  // Best effort: the command starts the store itself when it needs one.
}

require('./cli.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
