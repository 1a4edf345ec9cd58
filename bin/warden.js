#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=50
// The flags keep V8's heaps small: the storm's peak memory (SENTRY_NODE_FLAGS, src/sentry/heap-limits.ts).
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
