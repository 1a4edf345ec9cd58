import { dispatchKube } from '../rotation/kube-dispatch.js';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCertificatesPem } from '../../core/certificate.js';
import { bundleFactOf, rotationFactOf } from '../../rotation/doctor-facts.js';
import { diagnose, type AnchorsFileFact, type BackupFact, type BundleFact, type DoctorFacts, type DoctorReport, type FixStep, type HealthFact, type SentryFact } from '../../rotation/diagnose.js';
import { inspectBackup } from '../../rotation/rollback.js';
import { anchorsPemOf } from '../../rotation/sentry-compare.js';
import { resolveBundleLocation, type BundleLocation } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import type { CredentialOptions } from '../options.js';
import { printJson, printStatus, type OutputFormat } from '../output.js';
import { credentialArgs, mtlsCommandLine, shellQuote } from '../rotation/command-line.js';
import { resolveRotationPolicy } from '../rotation/rotate-options.js';
import { openSelfHosted, type RotationRuntime, type SelfHostedSetup } from '../rotation/rotate-setup.js';

export interface DoctorOptions extends CredentialOptions {
  output: OutputFormat;
  sentryAddress?: string;
  controlPlaneTrustDomain?: string;
  controlPlaneNamespace?: string;
  healthzUrl?: string;
  /** Anchors files workloads read (e.g. what DAPR_TRUST_ANCHORS was set from). */
  trustAnchors?: string[];
  config?: string;
  workloadTtl?: number;
}

/**
 * `warden mtls doctor`: diagnoses the self-hosted mTLS state — no, partial or unreadable bundle;
 * expired or expiring root or issuer; other check errors (e.g. a ca.crt without the root the
 * issuer chains to); an unfinished or diverged rotation; a sentry that is down, unhealthy or runs
 * on a stale bundle (`--sentry-address`, `--healthz-url`); anchors files workloads read that lack
 * the current root (`--trust-anchors`) — and prints the exact commands that fix it, in order.
 * Exit 0 when healthy (infos only), 1 when action is needed.
 */
export async function doctorCommand(opts: DoctorOptions, io: Io, _deps?: CliDeps, runtime: RotationRuntime = {}): Promise<number> {
  const kube = await dispatchKube('doctor', opts, io, runtime);
  if (kube !== undefined) return kube;
  const loc = resolveBundleLocation(opts, io);
  const setup = openSelfHosted(loc, io, runtime);
  const facts = await gatherFacts(opts, io, setup, runtime);
  const report = diagnose(facts);
  const commands = report.fixes.map((f) => renderFix(f, loc, opts));
  if (opts.output === 'json') {
    printJson(io, {
      directory: loc.dir,
      healthy: report.healthy,
      diagnoses: report.diagnoses,
      fixes: report.fixes.map((f, i) => ({ ...f, command: commands[i] })),
    });
  } else {
    printReport(io, loc, report, commands);
  }
  return report.healthy ? EXIT.ok : EXIT.failed;
}

async function gatherFacts(opts: DoctorOptions, io: Io, setup: SelfHostedSetup, runtime: RotationRuntime): Promise<DoctorFacts> {
  const now = io.clock.now();
  const policy = await resolveRotationPolicy({ ...opts, workloadTtl: opts.workloadTtl }, io);
  const bundle = bundleFactOf(await setup.store.read(), now, { workloadTtlMs: policy.workloadTtlMs, clockSkewMs: policy.clockSkewMs });
  const backups: BackupFact[] = [];
  for (const ref of await setup.store.listBackups()) {
    const c = await inspectBackup(setup.store, ref, now).catch(() => undefined);
    backups.push({ name: ref.name, restorable: c === undefined || c.bundle === undefined ? 'unreadable' : c.broken ? 'broken' : c.expired ? 'expired' : 'ok' });
  }
  const facts: DoctorFacts = { now, bundle, backups, rotation: await rotationFactOf(setup.journal, bundle), anchorsFiles: [] };
  if (opts.sentryAddress !== undefined) facts.sentry = await sentryFact(opts, bundle, runtime);
  if (opts.healthzUrl !== undefined) facts.health = await healthFact(opts.healthzUrl);
  for (const path of opts.trustAnchors ?? []) facts.anchorsFiles.push(await anchorsFileFact(resolve(io.cwd, path)));
  return facts;
}

async function sentryFact(opts: DoctorOptions, bundle: BundleFact, runtime: RotationRuntime): Promise<SentryFact | undefined> {
  const address = opts.sentryAddress as string;
  if (bundle.state !== 'complete') return undefined; // nothing to authenticate it against
  const target = {
    address,
    ...(opts.controlPlaneTrustDomain ? { controlPlaneTrustDomain: opts.controlPlaneTrustDomain } : {}),
    ...(opts.controlPlaneNamespace ? { controlPlaneNamespace: opts.controlPlaneNamespace } : {}),
  };
  const probe = runtime.probe ?? (await import('../../rotation/sentry-probe.js')).probeSentry;
  return { address, result: await probe(target, anchorsPemOf(bundle.bundle)) };
}

async function healthFact(url: string): Promise<HealthFact> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { url, status: res.status, body: await res.text() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { url, error: cause ?? (error as Error).message };
  }
}

async function anchorsFileFact(path: string): Promise<AnchorsFileFact> {
  try {
    return { path, anchors: parseCertificatesPem(await readFile(path)) };
  } catch (error) {
    return { path, error: (error as Error).message };
  }
}

/** One fix as the exact command line (or instruction) to run. */
export function renderFix(fix: FixStep, loc: BundleLocation, opts: CredentialOptions): string {
  const creds = credentialArgs(loc, opts);
  const ca = shellQuote(loc.caPath);
  switch (fix.kind) {
    case 'wait-rotation':
      return `wait for the running rotation (${fix.holder}) to finish; follow it with: ${mtlsCommandLine('rotate', ['--status'], creds)}`;
    case 'resume':
      return mtlsCommandLine('rotate', ['--resume'], creds);
    case 'rollback':
      return mtlsCommandLine('rollback', [...(fix.backup ? ['--backup', fix.backup] : []), ...(fix.force ? ['--force'] : [])], creds);
    case 'renew':
      return mtlsCommandLine('renew-certificate', fix.force ? ['--force'] : [], creds);
    case 'rotate':
      return mtlsCommandLine('rotate', [], creds);
    case 'start-sentry':
      return ['warden', 'sentry', ...creds].map(shellQuote).join(' ');
    case 'restart-sentry':
      return `restart the sentry (stop it, then: ${['warden', 'sentry', ...creds].map(shellQuote).join(' ')})`;
    case 'copy-anchors':
      return `cp ${ca} ${shellQuote(fix.to)}`;
    case 'restart-daprd':
      return `export DAPR_TRUST_ANCHORS="$(cat ${ca})"  # then restart every daprd (it reads its trust anchors only at start)`;
  }
}

function printReport(io: Io, loc: BundleLocation, report: DoctorReport, commands: string[]): void {
  const kind = { error: 'failure', warning: 'warning', info: 'info' } as const;
  for (const d of report.diagnoses) {
    // Failures go to stderr with printStatus; doctor's findings are its output, so keep them on stdout.
    if (d.severity === 'error') io.stdout(`❌  ${d.id}: ${d.message}\n`);
    else printStatus(io, kind[d.severity], `${d.id}: ${d.message}`);
  }
  if (report.healthy) {
    printStatus(io, 'success', `mTLS in ${loc.dir} is healthy: nothing to do`);
    return;
  }
  if (commands.length === 0) {
    printStatus(io, 'info', 'No command fixes this by itself; see the messages above');
    return;
  }
  printStatus(io, 'info', 'To fix it, run in order:');
  commands.forEach((c, i) => io.stdout(`  ${i + 1}. ${c}\n`));
}
