import { readFileSync } from 'node:fs';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { WardenError } from '../core/errors.js';
import { DAPR_VERSIONS } from '../core/profile.js';
import { parseWorkerCount } from '../sentry/cluster/workers-option.js';
import { DAPR_LOG_LEVELS } from '../sentry/logger.js';
import { DEFAULT_SENTRY_OPTIONS } from '../sentry/options.js';
import { TRUST_RESTART_POLICIES } from '../kube/trust-restart-policy.js';
import { completionCommand, SHELLS } from './commands/completion.js';
import { exportCommand, type ExportOptions } from './commands/export.js';
import { expiryCommand, type ExpiryOptions } from './commands/expiry.js';
import { renewCertificateCommand, type RenewOptions } from './commands/renew-certificate.js';
import { parseConcurrencyArg, parseNamespaceListArg, parseTimeoutSecondsArg } from './renew/options.js';
import { registerRequestCertCommand } from './commands/request-cert.js';
import { registerRotationCommands } from './commands/register-site-commands.js';
import { registerFleetCommands } from './commands/register-fleet-commands.js';
import { sentryCommand, type SentryCommandOptions } from './commands/sentry.js';
import { verifyCommand, type VerifyOptions } from './commands/verify.js';
import { kubeMtlsStatusCommand } from './commands/kube-mtls-status.js';
import { printKubeExpiryBanner } from './kube-expiry-banner.js';
import { addKubeOptions, kubeOptionsOf, rejectKubeFlagsWithoutK } from './kube-options.js';
import type { CliDeps } from './deps.js';
import type { Io } from './io.js';
import {
  addCredentialOptions,
  parseBooleanArg,
  parseDaysArg,
  parseDurationArg,
  parsePortArg,
  parseStringSliceArg,
} from './options.js';
import { OUTPUT_FORMATS, STATUS_PREFIX } from './output.js';

/** Receives each command's exit code (commander actions cannot return one). */
export interface ExitSink {
  exitCode: number;
}

/**
 * Wires the commands into commander. Nothing here does work: every action calls a command
 * function with (options, io, deps) and stores its exit code in `sink`. Usage errors surface as
 * CommanderError (exitOverride); main maps them to exit 2.
 */
export function buildProgram(io: Io, deps: CliDeps, sink: ExitSink): Command {
  const program = new Command('warden');
  program
    .description('A Dapr Sentry-compatible certificate authority and mTLS certificate-lifecycle tool')
    .version(packageVersion(), '-v, --version', 'print the Warden version')
    .helpOption('-h, --help', 'show help')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      // commander's "error: <message>" in Warden's failure format.
      outputError: (str, write) => write(`${STATUS_PREFIX.failure}${str.replace(/^error: /, '').trimEnd()} (ERR_USAGE)\n`),
    })
    .showHelpAfterError('(add --help for usage)')
    // Every alias in the command lists (commander shows only the first; `rnc` was hidden).
    .configureHelp({ subcommandTerm: commandTerm });

  const run = (fn: () => Promise<number>) => async (): Promise<void> => {
    sink.exitCode = await fn();
  };

  addSentryCommand(program, io, deps, run);
  const mtls = addMtlsCommand(program, io, run);
  // `warden mtls help rotate`: commander adds a help subcommand only to commands without an action.
  mtls.helpCommand(true);

  addKubeOptions(addCredentialOptions(
    mtls
      .command('expiry')
      .description('Print when the root and issuer certificates expire')
      .addOption(outputOption()),
  )).action(function (this: Command) {
    return run(() => expiryCommand({ ...this.opts<ExpiryOptions>(), ...kubeOptionsOf(this) }, io, deps))();
  });

  addKubeOptions(addCredentialOptions(
    mtls
      .command('verify')
      .description('Run the trust-bundle checks; exit 3 if any finds an error')
      .addOption(outputOption())
      .option('--warn-within <duration>', 'warn when less than this is left, Go syntax (default: "720h")', parseDurationArg)
      .option('--workload-ttl <duration>', 'workload certificate TTL the issuer must outlive (default: "24h")', parseDurationArg),
  )).action(function (this: Command) {
    return run(() => verifyCommand({ ...this.opts<VerifyOptions>(), ...kubeOptionsOf(this) }, io, deps))();
  });

  addKubeOptions(addCredentialOptions(
    mtls
      .command('export')
      .description('Copy the trust bundle (ca.crt, issuer.crt, issuer.key) to a directory')
      .option('-o, --out <dir>', 'output directory', '.'),
  )).action(function (this: Command) {
    return run(() => exportCommand({ ...this.opts<ExportOptions>(), ...kubeOptionsOf(this) }, io, deps))();
  });

  addRenewCommand(mtls, io, deps, run);

  // Registration point: `warden mtls request-cert`, owned by the identity-client helper
  // (src/cli/commands/request-cert.ts).
  registerRequestCertCommand(mtls, io, deps, run);

  // `warden mtls rotate`, `rollback`, `backups`, `doctor` (src/cli/commands/register-site-commands.ts).
  registerRotationCommands(mtls, io, deps, run);

  // `warden fleet`, `warden monitor` (src/cli/commands/register-fleet-commands.ts).
  registerFleetCommands(program, io, deps, run);

  program
    .command('completion')
    .description('Print a shell completion script: source <(warden completion bash); also zsh, fish')
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(SHELLS))
    .action((shell: string) => run(() => Promise.resolve(completionCommand(program, shell, io)))());

  // Set last: subcommands copy this setting when created. Lets the mtls action name the unknown
  // subcommand instead of commander's "too many arguments".
  mtls.allowExcessArguments(true);
  return program;
}

type Runner = (fn: () => Promise<number>) => () => Promise<void>;

/** Subcommands that take `warden mtls -k <sub>` (each also takes its own -k flags). */
const KUBE_SUBCOMMANDS = new Set(['expiry', 'verify', 'export', 'renew-certificate', 'rotate', 'rollback', 'backups', 'doctor']);

function addMtlsCommand(program: Command, io: Io, run: Runner): Command {
  const mtls = addKubeOptions(
    program.command('mtls').description('Mutual TLS trust bundle: expiry, verify, export, renew-certificate, rotate, rollback, backups, doctor; -k: whether mTLS is on in the cluster'),
  ).enablePositionalOptions();
  mtls.hook('preSubcommand', (cmd, sub) => {
    if (cmd.opts().kubernetes && !KUBE_SUBCOMMANDS.has(sub.name())) {
      throw new WardenError('ERR_USAGE', `-k/--kubernetes does not apply to 'mtls ${sub.name()}'`);
    }
  });
  // Dapr's post-command expiry banner (spec 6.5) after every -k command; it never fails the command.
  mtls.hook('postAction', async (_mtls, action) => {
    const opts = kubeOptionsOf(action);
    if (opts.kubernetes) await printKubeExpiryBanner({ ...opts, output: action.opts<{ output?: string }>().output }, io);
  });
  // `warden mtls -k` prints the cluster's mTLS state as Dapr does; `warden mtls` alone prints help.
  mtls.action(function (this: Command) {
    const [unknown] = this.args;
    if (unknown !== undefined) {
      throw new WardenError('ERR_USAGE', `unknown command 'mtls ${unknown}'; 'warden mtls --help' lists the commands`);
    }
    const opts = kubeOptionsOf(this);
    if (opts.kubernetes) return run(() => kubeMtlsStatusCommand(opts, io))();
    rejectKubeFlagsWithoutK(opts);
    io.stdout(this.helpInformation());
  });
  return mtls;
}

function addRenewCommand(mtls: Command, io: Io, deps: CliDeps, run: Runner): void {
  const cmd = mtls
    .command('renew-certificate')
    .aliases(['renew-cert', 'rnc'])
    .description('Generate (or install provided) root and issuer certificates, with checks, a backup and --dry-run; -k: in the cluster, with ordered restarts')
    .addOption(outputOption('text: status lines; json: the outcome on stdout (what was written, backup, fingerprints, dates), status lines on stderr'))
    .option('--valid-until <days|duration>', 'how long the new root and issuer are valid: whole days (Dapr) or a Go duration such as "720h" or "30m" (default: 365)', parseDaysArg)
    .option('--private-key <file>', 'existing root private key (PEM: SEC1, PKCS#1 or PKCS#8; Ed25519, P-256, P-384, RSA)')
    .option('--ca-root-certificate <file>', 'provided root certificate(s)')
    .option('--issuer-private-key <file>', 'provided issuer private key')
    .option('--issuer-public-certificate <file>', 'provided issuer certificate (chain)')
    .option('--trust-domain <domain>', 'trust domain (default: the current bundle\'s, else "localhost"; -k: the cluster\'s)')
    .addOption(
      new Option('--key-algorithm <algorithm>', 'algorithm of generated keys (default: the current bundle\'s, else "ed25519"; -k: else that of the cluster\'s Dapr version)').choices([
        'ed25519',
        'ecdsa-p256',
      ]),
    )
    .option('--root-key-out <file>', 'save the new root private key here (PKCS#8, mode 0600; never overwrites)')
    .option('--namespace <namespace>', 'namespace in the issuer subject (default: env NAMESPACE, else "default"); -k: Dapr\'s namespace (default: found as the Dapr CLI does)')
    .option('--allowed-clock-skew <duration>', 'backdate NotBefore by this much (default: "15m"; -k: the daprsystem Configuration\'s)', parseDurationArg)
    .option('--dry-run', 'print the plan and write nothing')
    .option('--force', 'replace a partial bundle (check errors are never overridden)')
    .option('--restart', '-k: then restart the control plane in order (dapr-sentry first), waiting for each rollout')
    .option('--restart-apps', '-k: then restart every Dapr-enabled app too (implies --restart)')
    .option('--app-namespaces <list>', '-k: with --restart-apps, only apps in these comma-separated namespaces (default: all)', parseNamespaceListArg)
    .option('--max-concurrent-restarts <n>', '-k: with --restart-apps, apps restarting at once (default: 5)', parseConcurrencyArg)
    .option('--timeout <duration>', '-k: how long to wait for each rollout (seconds, or a Go duration such as 5m; default: 300)', parseTimeoutSecondsArg)
    .option('--image-variant <variant>', '-k: accepted for Dapr compatibility and ignored (Warden runs no Helm)')
    .option('--backup-dir <dir>', '-k: also keep a local copy of the backup Secret in this directory')
    .option('--create', '-k: create the Secret and ConfigMap if missing (Dapr\'s Helm chart normally does)');
  addKubeOptions(addCredentialOptions(cmd), { namespace: false }).action(function (this: Command) {
    return run(() => renewCertificateCommand({ ...this.opts<RenewOptions>(), ...kubeOptionsOf(this) }, io, deps))();
  });
}

function addSentryCommand(program: Command, io: Io, deps: CliDeps, run: Runner): void {
  const d = DEFAULT_SENTRY_OPTIONS;
  const cmd = program
    .command('sentry')
    .description('Run the Dapr Sentry-compatible CA server until SIGTERM/SIGINT')
    .option('--trust-domain <domain>', 'trust domain', d.trustDomain)
    .option('--port <port>', 'gRPC port', parsePortArg, d.port)
    .addOption(new Option('--listen-address <address>', 'gRPC listen address; empty: all interfaces').default(d.listenAddress))
    .option('--healthz-port <port>', 'health port', parsePortArg, d.healthzPort)
    .addOption(new Option('--healthz-listen-address <address>', 'health listen address; empty: all interfaces').default(d.healthzListenAddress))
    .option('--metrics-port <port>', 'metrics port', parsePortArg, d.metricsPort)
    .addOption(
      new Option('--metrics-listen-address <address>', 'metrics listen address; empty: all interfaces (Dapr 1.16-1.18 parse it but listen everywhere)').default(d.metricsListenAddress),
    )
    .addOption(
      new Option('--enable-metrics [bool]', 'serve Prometheus metrics (--enable-metrics=false to disable)')
        .default(d.enableMetrics, 'true')
        .preset('true')
        .argParser(parseBooleanArg),
    )
    .option('--config <file>', 'standalone: Dapr Configuration YAML (optional in Warden); kubernetes: Configuration name (default daprsystem)')
    .addOption(new Option('--mode <mode>', 'standalone or kubernetes').choices(['standalone', 'kubernetes']).default(d.mode))
    .option('--kubeconfig <file>', 'kubernetes mode: kubeconfig file (default $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .addOption(
      new Option('--kube-secret-poll-interval <duration>', 'kubernetes mode: also GET the trust-bundle Secret this often, besides the credentials mount\'s file events; 0s: mount only (Warden addition)')
        .argParser(parseDurationArg).default(10_000, '10s'),
    )
    .option('--context <name>', 'kubernetes mode: kubeconfig context')
    .addOption(
      new Option('--expiry-warning-window <duration>', 'warn when the root or issuer expires within this (Warden addition)')
        .argParser(parseDurationArg).default(d.expiryWarningWindowMs, '720h0m0s'),
    )
    .addOption(
      new Option('--expiry-warning-interval <duration>', 'repeat the expiry warning this often (Warden addition)')
        .argParser(parseDurationArg).default(d.expiryWarningIntervalMs, '1h0m0s'),
    )
    .option('--cluster-domain <domain>', 'cluster domain for the scheduler\'s DNS SANs; unset: as the emulated Dapr finds it (1.17+ kubernetes mode: the resolv.conf search domain under which kubernetes.default.svc resolves; 1.16: cluster.local; else the trust domain)')
    .addOption(
      new Option('--key-algorithm <algorithm>', 'key algorithm of a bundle the sentry generates; unset: what --dapr-version generates (1.18 ed25519, 1.16 and 1.17 ecdsa-p256)')
        .choices(['ed25519', 'ecdsa-p256']),
    )
    .addOption(
      new Option('--dapr-version <version>', 'the Dapr Sentry to emulate: leaf profile (1.18: digitalSignature only; 1.16, 1.17: + keyEncipherment), generated key algorithm and serving key (1.18 ed25519; 1.16, 1.17 ecdsa-p256), scheduler cluster domain (Warden addition)')
        .choices(DAPR_VERSIONS).default(d.daprVersion).env('WARDEN_DAPR_VERSION'),
    )
    .option('--workers <n|auto>', 'processes serving gRPC on the one port: a number, or auto (one per core); self-hosted mode only (Warden addition)', parseWorkersArg, d.workers)
    .addOption(
      new Option('--sign-threads <n|auto>', `threads per process that check CSRs and sign leaves, so the main thread only serves TLS and gRPC; auto = one per core beyond the first, up to 4, here ${parseSignThreadsArg('auto')} (Warden addition)`)
        .argParser(parseSignThreadsArg)
        .default(parseSignThreadsArg('auto'), 'auto'),
    )
    .addOption(boolFlag('--release-memory [bool]', 'after a storm of connections has subsided, collect garbage and return freed memory to the system (glibc malloc_trim); --release-memory=false to keep it (Warden addition)', d.releaseMemory))
    .option('--max-connections <n>', 'gRPC connections one process holds at once; never more than the open-file limit allows (Warden addition)', parseConnectionCapArg, d.maxConnections)
    .option('--max-connections-per-peer <n>', 'gRPC connections one process holds from one client address (Warden addition)', parseConnectionCapArg, d.maxConnectionsPerPeer)
    .addOption(boolFlag('--auto-renew [bool]', 'renew the CA before it expires with the phased rotation of `warden mtls rotate` (Warden addition; docs/operations.md)', d.autoRenew).env('WARDEN_AUTO_RENEW'))
    .addOption(new Option('--renew-at <fraction>', 'with --auto-renew: renew once this fraction of the root\'s or issuer\'s lifetime has passed').argParser(parseFractionArg).default(d.renewAt, '0.667'))
    .addOption(
      new Option('--renew-before <duration>', 'with --auto-renew: renew at the latest this long before the root or issuer expires (whichever of the two rules comes first)')
        .argParser(parseDurationArg).default(d.renewBeforeMs, '168h0m0s'),
    )
    .option('--auto-renew-root-key <file>', 'with --auto-renew: the current root\'s private key; renew with it (a bring-your-own root is renewable only so)')
    .addOption(
      new Option('--auto-renew-lease-duration <duration>', 'kubernetes mode, with --auto-renew: leaseDurationSeconds of the Lease that elects the acting replica')
        .argParser(parseDurationArg).default(d.autoRenewLeaseDurationMs, '15s'),
    )
    .addOption(new Option('--renew-propagation-delay <duration>', 'with --auto-renew: wait after each phase\'s write (default 10s self-hosted, 1m30s kubernetes)').argParser(parseDurationArg))
    .addOption(
      new Option('--auto-renew-restarts <policy>', 'kubernetes mode, with --auto-renew: what the rotation may restart so every running Dapr pod trusts the new root before the issuer switches: none, control-plane or apps (docs/operations.md)')
        .choices(TRUST_RESTART_POLICIES).default(d.autoRenewRestarts).env('WARDEN_AUTO_RENEW_RESTARTS'),
    )
    .addOption(boolFlag('--distribute-trust [bool]', 'kubernetes mode: keep the trust anchors in a dapr-root-ca.crt ConfigMap in every namespace with Dapr apps, in sync (in automatic rotations, and every minute between them)', d.distributeTrust).env('WARDEN_DISTRIBUTE_TRUST'));
  addDaprLogOptions(cmd);
  addJwtOidcOptions(cmd);
  // Dapr's Sentry ignores positional arguments (e.g. the `false` of `--enable-metrics false`).
  addCredentialOptions(cmd).allowExcessArguments(true).action(function (this: Command) {
    const setByUser = Object.keys(this.opts()).filter((name) => ['cli', 'env'].includes(this.getOptionValueSource(name) ?? ''));
    return run(() => sentryCommand({ ...this.opts<SentryCommandOptions>(), ignoredArgs: this.args, setByUser }, io, deps))();
  });
}

/** Dapr's logger flags (dapr/kit), plus `--log-format` (Warden addition: bin/sentry passes `dapr`). */
function addDaprLogOptions(cmd: Command): void {
  cmd
    .addOption(new Option('--log-level <level>', 'log level (default: "info", or $WARDEN_LOG_LEVEL)').choices(DAPR_LOG_LEVELS))
    .addOption(boolFlag('--log-as-json [bool]', 'Dapr log format: JSON lines instead of text', false))
    .option('--log-file <file>', 'write the log lines to this file (appended) instead of stdout')
    .addOption(
      new Option('--log-format <format>', 'warden: pino JSON with Warden\'s fields; dapr: Dapr Sentry\'s lines (Warden addition; bin/sentry uses dapr)')
        .choices(['warden', 'dapr']).default('warden'),
    );
}

/**
 * Dapr Sentry's JWT and OIDC flags, as Dapr spells them and with its defaults
 * (cmd/sentry/options/options.go), so its Helm chart's command line parses. Flags without a
 * default (`--jwt-issuer`, `--jwt-key-id`, the OIDC files, URI and prefix): given (even empty) is
 * different from not given, as pflag's `Changed` tells Dapr. `--oidc-allowed-hosts` is a pflag
 * string slice (comma-separated, repeatable).
 */
function addJwtOidcOptions(cmd: Command): void {
  cmd
    .addOption(boolFlag('--jwt-enabled [bool]', 'Enable JWT token issuance by Sentry', false))
    .option('--jwt-key-filename <name>', 'JWT signing key filename (used only when absolute; else jwt.key in the credentials directory)', 'jwt.key')
    .option('--jwks-filename <name>', 'JWKS (JSON Web Key Set) filename (used only when absolute; else jwks.json in the credentials directory)', 'jwks.json')
    .option('--jwt-issuer <issuer>', 'Issuer value for JWT tokens (no issuer if not given)')
    .option('--jwt-signing-algorithm <alg>', 'Algorithm used for JWT signing, must be supported by signing key', 'RS256')
    .option('--jwt-key-id <id>', 'Key ID (kid) used for JWT signing (defaults to the JWKS entry\'s kid, else the base64 encoded SHA-256 thumbprint of the signing key)')
    .addOption(new Option('--jwt-ttl <duration>', 'Time-to-live for JWT tokens').argParser(parseDurationArg).default(24 * 60 * 60 * 1000, '24h0m0s'))
    .addOption(boolFlag('--oidc-enabled [bool]', 'enable the OIDC discovery HTTP server (served only with --jwt-enabled, as in Dapr)', false))
    .addOption(new Option('--oidc-server-listen-port <port>', 'the port for the OIDC HTTP server').argParser(parsePortArg).default(9080))
    .option('--oidc-server-listen-address <address>', 'the address for the OIDC HTTP server', 'localhost')
    .addOption(boolFlag('--oidc-server-tls-enabled [bool]', 'serve OIDC HTTP with TLS (then both TLS files are required)', true))
    .option('--oidc-server-tls-cert-file <file>', 'TLS certificate file for the OIDC HTTP server (required when OIDC HTTP server is enabled)')
    .option('--oidc-server-tls-key-file <file>', 'TLS key file for the OIDC HTTP server (required when OIDC HTTP server is enabled)')
    .option('--oidc-jwks-uri <uri>', 'custom URI where the JWKS can be accessed externally')
    .option('--oidc-path-prefix <prefix>', 'path prefix to add to OIDC HTTP endpoints')
    .option('--oidc-allowed-hosts <hosts>', 'list of allowed hosts for OIDC HTTP endpoints (comma-separated, repeatable)', parseStringSliceArg);
}

/** A pflag-style bool: bare means true, `=false` (or a Go spelling) sets it. */
function boolFlag(flags: string, description: string, dflt: boolean): Option {
  return new Option(flags, description).default(dflt, String(dflt)).preset('true').argParser(parseBooleanArg);
}

/** Commander argument parser for `--sign-threads`: 0-64, or auto (cores - 1, at most 4). */
function parseSignThreadsArg(value: string): number {
  if (value === 'auto') return Math.min(4, Math.max(0, availableParallelism() - 1));
  if (!/^\d+$/.test(value) || Number(value) > 64) throw new InvalidArgumentError(`a whole number from 0 to 64 or auto is wanted, got "${value}"`);
  return Number(value);
}

/** Commander argument parser for `--renew-at`: a fraction strictly between 0 and 1. */
function parseFractionArg(value: string): number {
  const n = Number(value);
  if (!/^0?\.\d+$/.test(value) || !(n > 0 && n < 1)) throw new InvalidArgumentError(`a fraction between 0 and 1 such as 0.667 is wanted, got "${value}"`);
  return n;
}

/** Commander argument parser for `--max-connections` and `--max-connections-per-peer`: 1 to 1,000,000. */
function parseConnectionCapArg(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1_000_000) {
    throw new InvalidArgumentError(`a whole number from 1 to 1000000 is wanted, got "${value}"`);
  }
  return Number(value);
}

/** Commander argument parser for `--workers`. */
function parseWorkersArg(value: string): number {
  try {
    return parseWorkerCount(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function outputOption(description = 'output format'): Option {
  return new Option('-o, --output <format>', description).choices(OUTPUT_FORMATS).default('text');
}

/** `renew-certificate|renew-cert|rnc [options]`: commander's term for a command, with all its aliases. */
function commandTerm(cmd: Command): string {
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}${a.variadic ? '...' : ''}]`)).join(' ');
  return [cmd.name(), ...cmd.aliases()].join('|') + (cmd.options.length > 0 ? ' [options]' : '') + (args ? ` ${args}` : '');
}

/** package.json's version; dist/cli and src/cli are both two levels below the package root. */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
