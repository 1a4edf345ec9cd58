import { CommanderError } from 'commander';
import { isWardenError } from '../core/errors.js';
import { daprSentryArgv } from './dapr-argv.js';
import { defaultDeps, type CliDeps } from './deps.js';
import { EXIT, exitCodeForError } from './exit-codes.js';
import { processIo, type Io } from './io.js';
import { STATUS_PREFIX } from './output.js';
import { buildProgram } from './program.js';

/**
 * The CLI entry point: parses `argv` (without node and script), runs one command and returns
 * its exit code (exit-codes.ts). Never calls process.exit; bin/warden.js sets process.exitCode.
 * This is the one place errors become output and exit codes: a WardenError prints
 * `❌  <message> (<code>)` on stderr.
 */
export async function main(argv: string[], io: Io = processIo(), deps: CliDeps = defaultDeps()): Promise<number> {
  const sink = { exitCode: EXIT.ok as number };
  try {
    const args = argv[0] === 'sentry' ? ['sentry', ...daprSentryArgv(argv.slice(1))] : argv;
    await buildProgram(io, deps, sink).parseAsync(args, { from: 'user' });
    return sink.exitCode;
  } catch (error) {
    return reportError(io, error);
  }
}

function reportError(io: Io, error: unknown): number {
  if (error instanceof CommanderError) {
    // --help, `help <command>` and --version end in a CommanderError too (exitOverride); they
    // succeeded. Help shown because no command was given has exitCode 1: a usage error.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    if (error.code === 'commander.help' && error.exitCode === 0) return EXIT.ok;
    // Anything else (unknown option, missing argument, no command given) was already printed by
    // commander through configureOutput. Dapr exits 255 here; Warden uses 2.
    return EXIT.usage;
  }
  if (isWardenError(error)) {
    io.stderr(`${STATUS_PREFIX.failure}${error.message} (${error.code})\n`);
    return exitCodeForError(error);
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`${STATUS_PREFIX.failure}unexpected error: ${message}\n`);
  if (io.env.WARDEN_DEBUG && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
  return EXIT.failed;
}
