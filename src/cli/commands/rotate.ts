import { countdownSleeper, isInteractive } from '../countdown.js';
import { dispatchKube } from '../rotation/kube-dispatch.js';
import { TrustBundle } from '../../core/bundle.js';
import { WardenError } from '../../core/errors.js';
import { planRotation, type RotationPlan } from '../../core/rotation/plan.js';
import { createRotationRecord, type RotationPolicy, type RotationRecord, type RotationSettings } from '../../core/rotation/record.js';
import { buildTimeline, oldChainEnd, timelineDurationMs } from '../../core/rotation/schedule.js';
import { WRITE_PHASES } from '../../core/rotation/phases.js';
import { runRotation, startRotation } from '../../rotation/engine.js';
import { bundleNotFound, bundlePartial, resolveBundleLocation, type BundleLocation } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import { printFindingsTable } from '../findings.js';
import type { Io } from '../io.js';
import { printJson, printStatus } from '../output.js';
import { buildRenewPlan } from '../renew/build-plan.js';
import { inspectCurrentBundle } from '../renew/current-bundle.js';
import { selectRenewSource } from '../renew/options.js';
import { credentialArgs, mtlsCommandLine } from '../rotation/command-line.js';
import {
  checkRotateModes, resolveRotationPolicy, resolveSettings, toRenewOptions, type RotateOptions,
} from '../rotation/rotate-options.js';
import { createProgressPrinter, finishRotation, presentPlan, showRotationStatus } from '../rotation/rotate-report.js';
import { createBackend, openSelfHosted, withInterrupt, type RotationRuntime, type SelfHostedSetup } from '../rotation/rotate-setup.js';
import { rotationId, saveRootKey } from '../rotation/new-rotation.js';

export type { RotateOptions } from '../rotation/rotate-options.js';

/**
 * `warden mtls rotate`: a zero-downtime root rotation in phases (plan → add-anchor →
 * switch-issuer → retire-old-root), journalled so it can be stopped and resumed at any point.
 *  - new (default): pick the new root and issuer as renew-certificate does (fresh / --private-key /
 *    provided files), plan every phase and check every target bundle, then run; `--dry-run`
 *    prints the plan and the expected timeline and writes nothing.
 *  - `--resume`: continue the unfinished rotation from its journal.
 *  - `--status`: where the rotation stands (text or `-o json`).
 * An expired current bundle never blocks: add-anchor is skipped (there is nothing to keep
 * working) and the message says so. Exit 0 done or stopped by --until; 3 a target fails its
 * checks; 1 otherwise (ERR_ROTATION_* codes).
 */
export async function rotateCommand(opts: RotateOptions, io: Io, _deps?: CliDeps, runtime: RotationRuntime = {}): Promise<number> {
  const kube = await dispatchKube('rotate', opts, io, runtime);
  if (kube !== undefined) return kube;
  const mode = checkRotateModes(opts);
  const loc = resolveBundleLocation(opts, io);
  const setup = openSelfHosted(loc, io, runtime);
  const resume = mtlsCommandLine('rotate', ['--resume'], credentialArgs(loc, opts));
  if (mode === 'status') return showRotationStatus(opts.output, io, setup.journal, setup.journal.path, resume);
  if (mode === 'resume') return resumeRotation(opts, io, setup, loc, runtime, resume);
  return newRotation(opts, io, setup, loc, runtime, resume);
}

async function resumeRotation(
  opts: RotateOptions, io: Io, setup: SelfHostedSetup, loc: BundleLocation, runtime: RotationRuntime, resume: string,
): Promise<number> {
  const lock = await setup.journal.lock(io.clock.now());
  try {
    const found = await setup.journal.read();
    if (found === undefined || found.status !== 'in-progress') {
      throw new WardenError(
        'ERR_ROTATION_NOT_FOUND',
        found === undefined
          ? `There is no rotation to resume in ${setup.journal.path}; start one with \`${mtlsCommandLine('rotate', [], credentialArgs(loc, opts))}\``
          : `The last rotation (${found.id}) is ${found.status}; there is nothing to resume. Start a new one without --resume.`,
      );
    }
    let record = found;
    const settings = resolveSettings(opts, found.settings);
    if (JSON.stringify(settings) !== JSON.stringify(found.settings)) {
      record = { ...found, settings, updatedAt: io.clock.now().toISOString() };
      await setup.journal.write(record);
    }
    printStatus(io, 'pending', `Resuming rotation ${record.id} (last completed phase: ${record.phase})`);
    const backend = createBackend(setup, loc, io, settings, runtime);
    const outcome = await withInterrupt(io, runtime, (signal) =>
      runRotation(record, {
        backend, clock: io.clock, sleeper: countdownSleeper(setup.sleeper, io, { clock: io.clock, interactive: isInteractive(io), label: '[retire-old-root]' }), signal, report: createProgressPrinter(io, resume),
        ...(opts.until ? { until: opts.until } : {}),
      }));
    return finishRotation(io, outcome);
  } finally {
    await lock.release();
  }
}

async function newRotation(
  opts: RotateOptions, io: Io, setup: SelfHostedSetup, loc: BundleLocation, runtime: RotationRuntime, resume: string,
): Promise<number> {
  const renewOpts = toRenewOptions(opts);
  const source = selectRenewSource(renewOpts);
  const policy = await resolveRotationPolicy(opts, io);
  const settings = resolveSettings(opts);
  const lock = opts.dryRun ? undefined : await setup.journal.lock(io.clock.now());
  try {
    const existing = await setup.journal.read();
    if (existing?.status === 'in-progress') {
      const message = `An unfinished rotation (${existing.id}, last completed phase: ${existing.phase}) exists in ${setup.journal.path}. ` +
        `Continue it with \`${resume}\`, or abandon it with \`${mtlsCommandLine('rollback', [], credentialArgs(loc, opts))}\``;
      if (!opts.dryRun) throw new WardenError('ERR_ROTATION_IN_PROGRESS', message);
      if (opts.output !== 'json') printStatus(io, 'warning', message);
    }
    const { original, version, texts } = await readOriginal(setup, loc);
    const now = io.clock.now();
    if (opts.output !== 'json') printStatus(io, 'pending', `Planning a root rotation of ${setup.store.description}`);
    const renewPlan = await buildRenewPlan(renewOpts, source, loc, await inspectCurrentBundle(setup.store), io);
    if (renewPlan.bundle === undefined) {
      printFindingsTable(io, renewPlan.parseFindings);
      printStatus(io, 'failure', 'The provided certificates do not parse; nothing was written');
      return EXIT.checksFailed;
    }
    const plan = planRotation({ original, material: renewPlan.bundle, now, policy });
    const backend = createBackend(setup, loc, io, settings, runtime);
    const rows = buildTimeline({
      now,
      estimates: Object.fromEntries(WRITE_PHASES.map((p) => [p, backend.estimate(p, settings)])) as Parameters<typeof buildTimeline>[0]['estimates'],
      skips: Object.fromEntries(plan.phases.filter((p) => p.skip !== undefined).map((p) => [p.phase, p.skip])),
      policy,
      force: settings.force,
      oldChainEndsAt: oldChainEnd(original),
    });
    if (opts.output === 'json') {
      printJson(io, dryRunJson(plan, rows, policy, settings));
      return plan.invalid ? EXIT.checksFailed : EXIT.ok;
    }
    const stop = presentPlan(io, plan, rows, opts.dryRun === true);
    if (stop !== undefined) return stop;
    const rootKeyPath = await saveRootKey(renewPlan);
    const material = renewPlan.bundle.toTexts();
    const record = createRotationRecord({
      id: rotationId(now), now, store: setup.store.description, policy, settings,
      original: { texts, version },
      material: {
        source,
        anchorsPem: material.ca,
        issuerCertPem: material.issuerCert,
        issuerKeyPem: material.issuerKey,
        ...(rootKeyPath ? { rootKeyPath } : {}),
      },
    });
    printStatus(io, 'info', `Rotation ${record.id} recorded in ${setup.journal.path}`);
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

/** The bundle before the rotation: it must exist, be complete and parse (the old issuer is kept in add-anchor). */
async function readOriginal(setup: SelfHostedSetup, loc: BundleLocation): Promise<{ original: TrustBundle; texts: RotationRecord['original']['texts']; version: string }> {
  const read = await setup.store.read();
  if (read.state === 'absent') throw bundleNotFound(loc);
  if (read.state === 'partial') throw bundlePartial(loc, read.present, read.missing);
  try {
    return { original: TrustBundle.fromTexts(read.texts), texts: read.texts, version: read.version };
  } catch (error) {
    throw new WardenError(
      'ERR_BUNDLE_INVALID',
      `The current bundle in ${loc.dir} does not parse (${(error as Error).message}), so there is no old issuer to keep while the new root ` +
        'spreads: replace it in one step with `warden mtls renew-certificate`, or restore a backup with `warden mtls rollback`.',
      { cause: error },
    );
  }
}

function dryRunJson(plan: RotationPlan, rows: ReturnType<typeof buildTimeline>, policy: RotationPolicy, settings: RotationSettings): Record<string, unknown> {
  return {
    valid: !plan.invalid,
    notes: plan.notes,
    policy,
    settings,
    phases: plan.phases.map((p) => ({
      phase: p.phase,
      skip: p.skip ?? null,
      anchors: p.target.anchors.map((a) => ({ subject: a.subject.text, serial: a.serialHex, notAfter: a.notAfter.toISOString() })),
      issuer: { subject: p.target.issuer.subject.text, serial: p.target.issuer.serialHex, notAfter: p.target.issuer.notAfter.toISOString() },
      findings: p.findings.map(({ severity, code, subject, message }) => ({ severity, code, subject, message })),
    })),
    timeline: rows.map((r) => ({ phase: r.phase, step: r.step, durationMs: r.durationMs, startsAt: r.startsAt.toISOString() })),
    totalMs: timelineDurationMs(rows),
  };
}
