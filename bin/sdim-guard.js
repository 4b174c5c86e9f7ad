#!/usr/bin/env node
// Runs the TypeScript CLI straight from a clone (no build step after `npm ci`); tsx compiles on the fly.
const { require: tsxRequire } = require('tsx/cjs/api');

tsxRequire('./cli.ts', __filename)
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
