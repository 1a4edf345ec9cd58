/** The CLI from source, for tests that spawn and kill it (no dist/ needed). */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
