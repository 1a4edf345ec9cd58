/**
 * Registers `warden mtls rotate`, `rollback`, `backups` and `doctor`, the commands over a site (a
 * directory, or the cluster with `-k`); program.ts calls this once. Actions only map flags onto
 * the command functions, as everywhere in the CLI.
 */
import { Option, type Command } from 'commander';
import { ROTATION_PHASES } from '../../core/rotation-phases/phases.js';
import { backupsCommand, type BackupsOptions } from './backups.js';
import { doctorCommand, type DoctorOptions } from './doctor.js';
import { rollbackCommand, type RollbackOptions } from './rollback.js';
import { rotateCommand, type RotateOptions } from './rotate.js';
import type { CliDeps } from '../deps.js';
import type { Io } from '../io.js';
import { addCredentialOptions, parseDaysArg, parseDurationArg } from '../options.js';
import { OUTPUT_FORMATS } from '../output.js';
import { addKubeOptions, kubeOptionsOf } from '../kube-options.js';
import { parseConcurrencyArg, parseNamespaceListArg } from '../renew/options.js';
import { parseTimeoutArg } from './rotate-options.js';
import { TRUST_RESTART_POLICIES } from '../../kube/trust-restart-policy.js';

type Runner = (fn: () => Promise<number>) => () => Promise<void>;

function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('text');
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerRotationCommands(mtls: Command, io: Io, deps: CliDeps, run: Runner): void {
  addRotate(mtls, io, deps, run);

  addCredentialOptions(
    mtls
      .command('rollback')
      .description('Restore the latest backup (or --backup NAME) after checking it; abandons an unfinished rotation')
      .option('--backup <name>', 'backup to restore (see `warden mtls backups`; default: the newest)')
      .option('--force', 'restore even if the backup\'s root or issuer has expired')
      .addOption(new Option('-o, --output <format>', 'text, or json: what was restored on stdout, status lines on stderr').choices(OUTPUT_FORMATS).default('text')),
  ).action(function (this: Command) {
    return run(() => rollbackCommand({ ...this.opts<RollbackOptions>(), ...kubeOptionsOf(this) }, io, deps))();
  });

  addCredentialOptions(
    mtls
      .command('backups')
      .description('List the backups rollback can restore, newest first, with their roots\' expiry')
      .addOption(outputOption()),
  ).action(function (this: Command) {
    return run(() => backupsCommand({ ...this.opts<BackupsOptions>(), ...kubeOptionsOf(this) }, io, deps))();
  });

  addCredentialOptions(
    mtls
      .command('doctor')
      .description('Diagnose the mTLS state and print the commands that fix it, in order; exit 1 when action is needed')
      .addOption(outputOption())
      .option('--sentry-address <host:port>', 'probe this running sentry with a real SignCertificate call')
      .option('--control-plane-trust-domain <domain>', 'trust domain of the sentry\'s identity (default: "localhost")')
      .option('--control-plane-namespace <namespace>', 'namespace of the sentry (default: "default")')
      .option('--healthz-url <url>', 'the sentry\'s health endpoint, e.g. http://127.0.0.1:8080/healthz')
      .option('--trust-anchors <file>', 'an anchors file workloads read (repeatable); checked for the current root', collect)
      .option('--config <file>', 'Dapr Configuration YAML (workload TTL for the checks)')
      .option('--workload-ttl <duration>', 'workload certificate TTL (default: from --config, else "24h")', parseDurationArg),
  ).action(function (this: Command) {
    return run(() => doctorCommand({ ...this.opts<DoctorOptions>(), ...kubeOptionsOf(this) }, io, deps))();
  });

  addClusterFlags(mtls);
}

function addRotate(mtls: Command, io: Io, deps: CliDeps, run: Runner): void {
  const cmd = mtls
    .command('rotate')
    .description('Rotate the root with zero downtime: add the new root, switch the issuer, retire the old root (journalled; --resume, --status)')
    .option('--valid-until <days|duration>', 'how long the new root and issuer are valid: whole days or a Go duration such as "720h" (default: 365)', parseDaysArg)
    .option('--private-key <file>', 'existing root private key (PEM: SEC1, PKCS#1 or PKCS#8)')
    .option('--ca-root-certificate <file>', 'provided new root certificate(s)')
    .option('--issuer-private-key <file>', 'provided new issuer private key')
    .option('--issuer-public-certificate <file>', 'provided new issuer certificate (chain)')
    .option('--trust-domain <domain>', 'trust domain (default: the current bundle\'s, else "localhost")')
    .addOption(new Option('--key-algorithm <algorithm>', 'algorithm of generated keys (default: "ed25519")').choices(['ed25519', 'ecdsa-p256']))
    .option('--root-key-out <file>', 'save the new root private key here (PKCS#8, mode 0600; never overwrites)')
    .option('--namespace <namespace>', 'namespace in the issuer subject (default: env NAMESPACE, else "default")')
    .option('--dry-run', 'print the plan and the expected timeline; write nothing')
    .option('--resume', 'continue the unfinished rotation from its journal')
    .option('--status', 'show where the rotation stands')
    .option('--force', 'retire the old root at once instead of waiting workload TTL + clock skew')
    .addOption(new Option('--until <phase>', 'stop after this phase (continue later with --resume)').choices(ROTATION_PHASES.filter((p) => p !== 'done')))
    .option('--propagation-delay <duration>', 'wait after each write for watchers of ca.crt to reload (default: "10s")', parseDurationArg)
    .option('--workload-ttl <duration>', 'workload certificate TTL (default: from --config, else "24h")', parseDurationArg)
    .option('--allowed-clock-skew <duration>', 'allowed clock skew (default: from --config, else "15m")', parseDurationArg)
    .option('--config <file>', 'the sentry\'s Dapr Configuration YAML (workloadCertTTL, allowedClockSkew)')
    .option('--sentry-address <host:port>', 'confirm each phase by probing this running sentry')
    .option('--control-plane-trust-domain <domain>', 'trust domain of the sentry\'s identity (default: "localhost")')
    .option('--control-plane-namespace <namespace>', 'namespace of the sentry (default: "default")')
    .option('--timeout <duration>', 'how long each phase may take to converge (Go duration or seconds; default: "5m")', parseTimeoutArg)
    .addOption(new Option('-o, --output <format>', 'output format for --status and --dry-run').choices(OUTPUT_FORMATS));
  addCredentialOptions(cmd).action(function (this: Command) {
    return run(() => rotateCommand({ ...this.opts<RotateOptions>(), ...kubeOptionsOf(this) }, io, deps))();
  });
}

function sub(mtls: Command, name: string): Command | undefined {
  return mtls.commands.find((c) => c.name() === name);
}

const APP_NAMESPACES = '-k: only Dapr apps in these comma-separated namespaces (default: all)';
const MAX_CONCURRENT = '-k: Dapr apps restarting at once (default: 5)';

/** The `-k` flags; rotate keeps its own `--namespace` (with -k: Dapr's namespace, as renew-certificate's). */
function addClusterFlags(mtls: Command): void {
  const rotate = sub(mtls, 'rotate');
  if (rotate) {
    addKubeOptions(rotate, { namespace: false })
      .option('--app-namespaces <list>', APP_NAMESPACES, parseNamespaceListArg)
      .option('--max-concurrent-restarts <n>', MAX_CONCURRENT, parseConcurrencyArg)
      .addOption(new Option('--restarts <policy>', '-k: what may be restarted so every running Dapr pod trusts the new root before the issuer switches; pods not restarted are waited for (default: "apps")')
        .choices(TRUST_RESTART_POLICIES))
      .option('--distribute-trust', '-k: also keep the anchors in a dapr-root-ca.crt ConfigMap in every namespace with Dapr apps (sidecars that mount it need no restart)');
  }
  const rollback = sub(mtls, 'rollback');
  if (rollback) {
    addKubeOptions(rollback)
      .option('--no-restart', '-k: write the backup but restart nothing (print what to restart)')
      .option('--no-restart-apps', '-k: restart the control plane only, not the Dapr apps')
      .option('--app-namespaces <list>', APP_NAMESPACES, parseNamespaceListArg)
      .option('--max-concurrent-restarts <n>', MAX_CONCURRENT, parseConcurrencyArg)
      .option('--timeout <duration>', '-k: how long to wait for each rollout (Go duration or seconds; default: "5m")', parseTimeoutArg);
  }
  const backups = sub(mtls, 'backups');
  if (backups) addKubeOptions(backups);
  const doctor = sub(mtls, 'doctor');
  if (doctor) addKubeOptions(doctor).option('--app-namespaces <list>', APP_NAMESPACES, parseNamespaceListArg);
}
