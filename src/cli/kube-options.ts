/**
 * The flags every `-k` command shares: `-k/--kubernetes`, `--kubeconfig`, `--context` (as
 * kubectl), `--namespace` (Dapr's namespace; default: discovered) and `--expiry-warning-days`
 * (the post-command expiry banner, spec 6.5). Defined on `warden mtls` and on each subcommand
 * that supports `-k`, so `warden mtls -k expiry` and `warden mtls expiry -k` both work.
 * Nothing here loads the Kubernetes client.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { WardenError } from '../core/errors.js';

export interface KubeCliOptions {
  kubernetes?: boolean;
  kubeconfig?: string;
  context?: string;
  /** Dapr's namespace (`--namespace`); undefined: discovered. */
  namespace?: string;
  /** `--expiry-warning-days` (default 30 when undefined). */
  expiryWarningDays?: number;
}

export const DEFAULT_EXPIRY_WARNING_DAYS = 30;
const KUBE_KEYS = ['kubernetes', 'kubeconfig', 'context', 'namespace', 'expiryWarningDays'] as const;
const KUBE_ONLY_FLAGS: Record<(typeof KUBE_KEYS)[number], string> = {
  kubernetes: '-k',
  kubeconfig: '--kubeconfig',
  context: '--context',
  namespace: '--namespace',
  expiryWarningDays: '--expiry-warning-days',
};

/** Adds the `-k` flags to `cmd`; `namespace: false` leaves out `--namespace` (a command that has its own). */
export function addKubeOptions(cmd: Command, opts: { namespace?: boolean } = {}): Command {
  cmd
    .option('-k, --kubernetes', 'use the cluster\'s trust bundle (Secret and ConfigMap dapr-trust-bundle in Dapr\'s namespace)')
    .option('--kubeconfig <file>', 'with -k: kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)')
    .option('--context <name>', 'with -k: kubeconfig context (default: the current context)');
  if (opts.namespace !== false) {
    cmd.option('--namespace <namespace>', 'with -k: Dapr\'s namespace (default: where the daprsystem Configuration or dapr-sentry is)');
  }
  return cmd.option(
    '--expiry-warning-days <days>',
    'with -k: warn after the command when the root or issuer expires within this many days (default: 30)',
    parseWarningDays,
  );
}

/**
 * The `-k` flags given to `cmd` or to its parents (`warden mtls -k expiry`); a flag given to the
 * command itself wins. Commander's optsWithGlobals lets parents win, hence this.
 */
export function kubeOptionsOf(cmd: Command): KubeCliOptions {
  const out: Record<string, unknown> = {};
  const chain: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.unshift(c);
  for (const c of chain) {
    const values = c.opts();
    for (const key of KUBE_KEYS) if (values[key] !== undefined && c.options.some((o) => o.attributeName() === key)) out[key] = values[key];
  }
  return out as KubeCliOptions;
}

/**
 * Kubernetes-only flags without `-k` are a usage error (they would be silently ignored). For
 * commands whose `--namespace` also means something self-hosted, pass `{ namespace: false }`.
 */
export function rejectKubeFlagsWithoutK(opts: KubeCliOptions, { namespace = true }: { namespace?: boolean } = {}): void {
  if (opts.kubernetes) return;
  const given = KUBE_KEYS.filter((k) => k !== 'kubernetes' && (namespace || k !== 'namespace') && opts[k] !== undefined).map((k) => KUBE_ONLY_FLAGS[k]);
  if (given.length > 0) throw new WardenError('ERR_USAGE', `${given.join(', ')} only apply to the cluster's bundle: add -k/--kubernetes`);
}

function parseWarningDays(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number of days, e.g. 30.');
  return Number(value.trim());
}
