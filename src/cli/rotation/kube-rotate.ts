/**
 * `warden mtls rotate -k`: the zero-downtime rotation of the cluster's trust bundle (Secret +
 * ConfigMap `dapr-trust-bundle`), journalled in the Secret `dapr-trust-bundle-rotation`, with the
 * ordered restarts of each phase (backends/kube.ts). Same modes as self-hosted: new (with
 * `--dry-run`), `--resume`, `--status`; `--until`, `--force`. The new root's trust domain, the
 * issuer's namespace and the key algorithm come from the cluster as in `renew-certificate -k`; the
 * workload TTL and clock skew from the `daprsystem` Configuration unless given.
 */
import { countdownSleeper, isInteractive } from '../countdown.js';
import { TrustBundle } from '../../core/bundle.js';
import { parseGoDuration } from '../../core/duration.js';
import { WardenError } from '../../core/errors.js';
import { WRITE_PHASES } from '../../core/rotation/phases.js';
import { planRotation } from '../../core/rotation/plan.js';
import { createRotationRecord, type RotationPolicy, type RotationRecord } from '../../core/rotation/record.js';
import { buildTimeline, oldChainEnd, timelineDurationMs } from '../../core/rotation/schedule.js';
import { findDaprApps } from '../../kube/restarts.js';
import { KUBE_PROPAGATION_DELAY_MS } from '../../rotation/backends/kube.js';
import { runRotation, startRotation } from '../../rotation/engine.js';
import { EXIT } from '../exit-codes.js';
import { printFindingsTable } from '../findings.js';
import type { Io } from '../io.js';
import { printJson, printStatus } from '../output.js';
import { buildRenewBundle } from '../renew/build-plan.js';
import { inspectCurrentBundle } from '../renew/current-bundle.js';
import { clusterGenerationDefaults, connectToCluster, type KubeRenewContext } from '../renew/kube-context.js';
import { selectRenewSource } from '../renew/options.js';
import { createKubeBackend, kubeCommandLine, openKubeRotation, withKubeSettings, type KubeRotationSetup } from './kube-setup.js';
import { checkRotateModes, resolveRotationPolicy, resolveSettings, toRenewOptions, type RotateOptions } from './rotate-options.js';
import { createProgressPrinter, finishRotation, presentPlan, showRotationStatus } from './rotate-report.js';
import { withInterrupt, type RotationRuntime } from './rotate-setup.js';
import { rotationId, saveRootKey } from './new-rotation.js';

export async function rotateKubernetes(opts: RotateOptions, io: Io, runtime: RotationRuntime = {}): Promise<number> {
  const mode = checkRotateModes(opts);
  const setup = await openKubeRotation(opts, io, runtime);
  const resume = kubeCommandLine('rotate', opts, ['--resume']);
  if (mode === 'status') return showRotationStatus(opts.output, io, setup.journal, setup.journal.description, resume);
  if (mode === 'resume') return resumeRotation(opts, io, setup, runtime, resume);
  return newRotation(opts, io, setup, runtime, resume);
}

async function resumeRotation(opts: RotateOptions, io: Io, setup: KubeRotationSetup, runtime: RotationRuntime, resume: string): Promise<number> {
  const lock = await setup.journal.lock(io.clock.now());
  try {
    const found = await setup.journal.read();
    if (found === undefined || found.status !== 'in-progress') {
      throw new WardenError(
        'ERR_ROTATION_NOT_FOUND',
        found === undefined
          ? `There is no rotation to resume in ${setup.journal.description}; start one with \`${kubeCommandLine('rotate', opts)}\``
          : `The last rotation (${found.id}) is ${found.status}; there is nothing to resume. Start a new one without --resume.`,
      );
    }
    let record = found;
    const settings = withKubeSettings(resolveSettings(opts, found.settings), setup, opts);
    if (JSON.stringify(settings) !== JSON.stringify(found.settings)) {
      record = { ...found, settings, updatedAt: io.clock.now().toISOString() };
      await setup.journal.write(record);
    }
    printStatus(io, 'pending', `Resuming rotation ${record.id} of ${setup.store.description} (last completed phase: ${record.phase})`);
    const backend = createKubeBackend(setup, io, runtime);
    const outcome = await withInterrupt(io, runtime, (signal) =>
      runRotation(record, {
        backend, clock: io.clock, sleeper: countdownSleeper(setup.sleeper, io, { clock: io.clock, interactive: isInteractive(io), label: '[retire-old-root]' }), signal, report: createProgressPrinter(io, resume),
        ...(opts.until ? { until: opts.until } : {}),
        ...(opts.force ? { force: true } : {}),
      }));
    return finishRotation(io, outcome);
  } finally {
    await lock.release();
  }
}

async function newRotation(opts: RotateOptions, io: Io, setup: KubeRotationSetup, runtime: RotationRuntime, resume: string): Promise<number> {
  const renewOpts = { ...toRenewOptions(opts), kubernetes: true, ...clusterFlags(opts) };
  const source = selectRenewSource(renewOpts);
  const ctx = await connectToCluster(renewOpts, io);
  const policy = await clusterPolicy(opts, io, ctx);
  const settings = withKubeSettings(resolveSettings({ ...opts, propagationDelay: opts.propagationDelay ?? KUBE_PROPAGATION_DELAY_MS }), setup, opts);
  const lock = opts.dryRun ? undefined : await setup.journal.lock(io.clock.now());
  try {
    const existing = await setup.journal.read();
    if (existing?.status === 'in-progress') {
      const message = `An unfinished rotation (${existing.id}, last completed phase: ${existing.phase}) exists in ${setup.journal.description}. ` +
        `Continue it with \`${resume}\`, or abandon it with \`${kubeCommandLine('rollback', opts)}\``;
      if (!opts.dryRun) throw new WardenError('ERR_ROTATION_IN_PROGRESS', message);
      if (opts.output !== 'json') printStatus(io, 'warning', message);
    }
    const read = await setup.store.read();
    if ('anchorsMismatch' in read && opts.output !== 'json') {
      printStatus(io, 'warning', `${read.anchorsMismatch.message.split(':')[0]}; the rotation writes both byte-identical from its first phase`);
    }
    const current = await inspectCurrentBundle({ read: () => Promise.resolve(read), write: (t, o) => setup.store.write(t, o) });
    const original = readOriginal(read, setup);
    const now = io.clock.now();
    if (opts.output !== 'json') printStatus(io, 'pending', `Planning a root rotation of ${setup.store.description}`);
    const material = await buildRenewBundle(renewOpts, source, current, io, clusterGenerationDefaults(ctx, current, renewOpts, source, io));
    if (material.bundle === undefined) {
      printFindingsTable(io, material.parseFindings);
      printStatus(io, 'failure', 'The provided certificates do not parse; nothing was written');
      return EXIT.checksFailed;
    }
    const plan = planRotation({ original: original.bundle, material: material.bundle, now, policy });
    const apps = await findDaprApps(setup.clients, { ...(opts.appNamespaces ? { namespaces: opts.appNamespaces } : {}), controlPlaneNamespace: setup.namespace });
    const backend = createKubeBackend(setup, io, runtime, { appCount: apps.length });
    const rows = buildTimeline({
      now,
      estimates: Object.fromEntries(WRITE_PHASES.map((p) => [p, backend.estimate(p, settings)])) as Parameters<typeof buildTimeline>[0]['estimates'],
      skips: Object.fromEntries(plan.phases.filter((p) => p.skip !== undefined).map((p) => [p.phase, p.skip])),
      policy,
      force: settings.force,
      oldChainEndsAt: oldChainEnd(original.bundle),
    });
    if (opts.output === 'json') {
      printJson(io, {
        valid: !plan.invalid, namespace: setup.namespace, journal: setup.journal.description, apps: apps.length, policy, settings,
        phases: plan.phases.map((p) => ({ phase: p.phase, skip: p.skip ?? null, findings: p.findings.map(({ severity, code, subject, message }) => ({ severity, code, subject, message })) })),
        timeline: rows.map((r) => ({ phase: r.phase, step: r.step, durationMs: r.durationMs, startsAt: r.startsAt.toISOString() })),
        totalMs: timelineDurationMs(rows),
      });
      return plan.invalid ? EXIT.checksFailed : EXIT.ok;
    }
    const stop = presentPlan(io, plan, rows, opts.dryRun === true,
      `Restarts: add-anchor: control plane in order, then ${apps.length} Dapr app(s) at most ${settings.maxConcurrentRestarts} at a time; ` +
        'switch-issuer: control plane in order; retire-old-root: the apps again');
    if (stop !== undefined) return stop;
    const rootKeyPath = await saveRootKey(material);
    const texts = material.bundle.toTexts();
    const record = createRotationRecord({
      id: rotationId(now), now, store: setup.store.description, policy, settings,
      original: { texts: original.texts, version: original.version },
      material: { source, anchorsPem: texts.ca, issuerCertPem: texts.issuerCert, issuerKeyPem: texts.issuerKey, ...(rootKeyPath ? { rootKeyPath } : {}) },
    });
    printStatus(io, 'info', `Rotation ${record.id} recorded in ${setup.journal.description}`);
    const outcome = await withInterrupt(io, runtime, (signal) =>
      startRotation(record, {
        backend, clock: io.clock, sleeper: countdownSleeper(setup.sleeper, io, { clock: io.clock, interactive: isInteractive(io), label: '[retire-old-root]' }), signal, report: createProgressPrinter(io, resume),
        ...(opts.until ? { until: opts.until } : {}),
      }));
    return finishRotation(io, outcome);
  } finally {
    await lock?.release();
  }
}

function clusterFlags(opts: RotateOptions): Record<string, string> {
  const out: Record<string, string> = {};
  if (opts.kubeconfig !== undefined) out.kubeconfig = opts.kubeconfig;
  if (opts.context !== undefined) out.context = opts.context;
  if (opts.namespace !== undefined) out.namespace = opts.namespace;
  return out;
}

/** Workload TTL and clock skew: flags, else --config, else the daprsystem Configuration, else Dapr's defaults. */
async function clusterPolicy(opts: RotateOptions, io: Io, ctx: KubeRenewContext): Promise<RotationPolicy> {
  const base = await resolveRotationPolicy(opts, io);
  if (opts.config !== undefined) return base;
  const fromCluster = (value: string | undefined, what: string): number | undefined => {
    if (value === undefined) return undefined;
    try {
      return parseGoDuration(value);
    } catch {
      printStatus(io, 'warning', `The daprsystem Configuration's ${what} "${value}" is not a duration; using Dapr's default`);
      return undefined;
    }
  };
  return {
    workloadTtlMs: opts.workloadTtl ?? fromCluster(ctx.system?.workloadCertTTL, 'spec.mtls.workloadCertTTL') ?? base.workloadTtlMs,
    clockSkewMs: opts.allowedClockSkew ?? fromCluster(ctx.system?.allowedClockSkew, 'spec.mtls.allowedClockSkew') ?? base.clockSkewMs,
  };
}

function readOriginal(read: Awaited<ReturnType<KubeRotationSetup['store']['read']>>, setup: KubeRotationSetup): { bundle: TrustBundle; texts: RotationRecord['original']['texts']; version: string } {
  if (read.state === 'absent') {
    throw new WardenError('ERR_BUNDLE_NOT_FOUND', `${setup.store.secretRef} holds no trust bundle: there is nothing to rotate. Create one with 'warden mtls renew-certificate -k'.`);
  }
  if (read.state === 'partial') {
    throw new WardenError(
      'ERR_BUNDLE_PARTIAL',
      `incomplete trust bundle in ${setup.store.secretRef}: ${read.missing.join(', ')} missing. Restore a backup with 'warden mtls rollback -k', ` +
        'or replace the bundle in one step with \'warden mtls renew-certificate -k --force --restart --restart-apps\'; nothing was written',
    );
  }
  try {
    return { bundle: TrustBundle.fromTexts(read.texts), texts: read.texts, version: read.version };
  } catch (error) {
    throw new WardenError(
      'ERR_BUNDLE_INVALID',
      `The current bundle in ${setup.store.secretRef} does not parse (${(error as Error).message}), so there is no old issuer to keep while the new root ` +
        'spreads: replace it in one step with `warden mtls renew-certificate -k --restart --restart-apps`, or restore a backup with `warden mtls rollback -k`.',
      { cause: error },
    );
  }
}

