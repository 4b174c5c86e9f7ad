#!/usr/bin/env node
// Runs the TypeScript CLI straight from a clone (no build step after `npm ci`); tsx compiles on the fly.
const { require: tsxRequire } = require('tsx/cjs/api');

// The CLI pins its AWS SDK versions; the SDK's notice about future Node.js support is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// A command that needs the local store starts it before the CLI's modules load (they take about a second).
try {
  tsxRequire('../local/store-spawn.ts', __filename).prestartStore(process.argv.slice(2));
} catch {
  // Best effort: the command starts the store itself when it needs one.
}

tsxRequire('./cli.ts', __filename)
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
