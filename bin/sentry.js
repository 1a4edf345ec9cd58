#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=50
// The flags keep V8's heaps small: the storm's peak memory (SENTRY_NODE_FLAGS, src/sentry/heap-limits.ts).
// Dapr Sentry's command line, unchanged: `sentry --mode kubernetes --log-level info ...` runs
// `warden sentry` with Dapr's log lines (`--log-format dapr`), Dapr's start-up failure (a
// `level=fatal` line, exit 1) and Dapr's credentials directory default (the Helm chart's mount;
// `warden sentry` defaults to $HOME/.dapr/certs). A later flag overrides these.
// Built by `npm run build` like bin/warden.js.
import { main } from '../dist/cli/main.js';

process.exitCode = await main([
  'sentry', '--log-format', 'dapr', '--issuer-credentials', '/var/run/secrets/dapr.io/credentials', ...process.argv.slice(2),
]);
