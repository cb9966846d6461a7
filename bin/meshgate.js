#!/usr/bin/env node
// Thin launcher: the CLI is compiled from harness/cli.ts by `npm run build`.
require('../dist/harness/cli.js').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
