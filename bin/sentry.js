#!/usr/bin/env node
// Dapr Sentry's command line, unchanged: `sentry --mode kubernetes --log-level info ...` runs
// `warden sentry` with Dapr's log lines (`--log-format dapr`) and Dapr's start-up failure (a
// `level=fatal` line, exit 1). Built by `npm run build` like bin/warden.js.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(['sentry', '--log-format', 'dapr', ...process.argv.slice(2)]);
