#!/usr/bin/env node
// Runs the TypeScript CLI straight from a clone (no build step after `npm ci`); tsx compiles on the fly.
// Registered globally, not through tsx's require API: the API names every module with a per-process ?namespace=
// suffix, so its compile cache never hit and each command compiled the whole CLI again (--help: 1.6 s, now 0.8 s).
const timeline = process.env.SDIM_GUARD_TIMELINE; // see local/timeline.ts
const mark = (label, at = performance.timeOrigin + performance.now()) =>
  timeline && require('node:fs').appendFileSync(timeline, `${at.toFixed(1)} ${process.pid} ${label}\n`);
mark('node-start', performance.timeOrigin);
require('tsx/cjs');

// The CLI pins its AWS SDK versions; the SDK's notice about future Node.js support is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// A command that needs the local store starts it before the CLI's modules load (about half a second).
try {
  if (require('../local/store-spawn.ts').prestartStore(process.argv.slice(2))) mark('store-prestarted');
} catch {
  // Best effort: the command starts the store itself when it needs one.
}

const cli = require('./cli.ts');
mark('cli-loaded');
if (timeline) process.on('exit', () => mark('exit'));
cli.main(process.argv).then((code) => {
  process.exitCode = code;
});
