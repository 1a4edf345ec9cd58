/**
 * Runs the `warden` CLI from source, exactly as bin/warden.js runs the compiled one, so process
 * tests exercise the current sources without a build: `node --import tsx test/support/run-cli.ts …`.
 */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
