import { hostname, userInfo } from 'node:os';
import { STARTED_BY_ROTATE, startedBySettings } from '../../core/rotation-phases/started-by.js';
import { countdownSleeper, isInteractive } from '../countdown.js';
import { randomBytes, type KeyObject } from 'node:crypto';
import { TrustBundle } from '../../core/bundle.js';
import { WardenError } from '../../core/errors.js';
import { privateKeyToPkcs8Pem } from '../../core/keys.js';
import { WRITE_PHASES } from '../../core/rotation-phases/phases.js';
import { planRotation, type RotationPlan } from '../../core/rotation-phases/plan.js';
import { createRotationRecord, type RotationPolicy, type RotationRecord, type RotationSettings } from '../../core/rotation-phases/record.js';
import { buildTimeline, oldChainEnd, timelineDurationMs, type TimelineRow } from '../../core/rotation-phases/schedule.js';
import type { BundleReadResult } from '../../stores/store.js';
import { runRotation, startRotation } from '../../rotation-engine/engine.js';
import { fileIoError, writeFileAtomic } from '../atomic-file.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import { printFindingsTable } from '../findings.js';
import type { Io } from '../io.js';
import { printJson, printStatus } from '../output.js';
import { inspectCurrentBundle } from '../renew/current-bundle.js';
import { selectRenewSource } from '../renew/options.js';
import { openSite } from '../site/open-site.js';
import { withInterrupt, type RotationRuntime, type Site } from '../site/site.js';
import { checkRotateModes, toRenewOptions, type RotateOptions } from './rotate-options.js';
import { createProgressPrinter, finishRotation, presentPlan, showRotationStatus } from './rotate-report.js';

export type { RotateOptions } from './rotate-options.js';

/**
 * `warden mtls rotate`: a zero-downtime root rotation in phases (plan → add-anchor →
 * switch-issuer → retire-old-root), journalled so it can be stopped and resumed at any point, of a
 * directory's bundle or (`-k`) the cluster's, whose site restarts what each phase needs.
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
  const site = await openSite('rotate', opts, io, runtime);
  const mode = checkRotateModes(opts);
  const resume = site.commandLine('rotate', ['--resume']);
  if (mode === 'status') return showRotationStatus(opts.output, io, site.journal, site.journalWhere, resume, site.rotationStatusExtras?.bind(site));
  if (mode === 'resume') return resumeRotation(opts, io, site, runtime, resume);
  return newRotation(opts, io, site, runtime, resume);
}

async function resumeRotation(opts: RotateOptions, io: Io, site: Site, runtime: RotationRuntime, resume: string): Promise<number> {
  const lock = await site.journal.lock(io.clock.now());
  try {
    const found = await site.journal.read();
    if (found === undefined || found.status !== 'in-progress') {
      throw new WardenError(
        'ERR_ROTATION_NOT_FOUND',
        found === undefined
          ? `There is no rotation to resume in ${site.journalWhere}; start one with \`${site.commandLine('rotate')}\``
          : `The last rotation (${found.id}) is ${found.status}; there is nothing to resume. Start a new one with \`${site.commandLine('rotate')}\`.`,
      );
    }
    let record = found;
    const settings = site.resumeSettings(opts, found.settings);
    if (JSON.stringify(settings) !== JSON.stringify(found.settings)) {
      record = { ...found, settings, updatedAt: io.clock.now().toISOString() };
      await site.journal.write(record);
    }
    printStatus(io, 'pending', `Resuming rotation ${record.id} of ${site.store.description} (last completed phase: ${record.phase})`);
    const backend = site.createBackend(settings, io, runtime);
    const outcome = await withInterrupt(io, runtime, (signal) =>
      runRotation(record, {
        backend, clock: io.clock, sleeper: countdownSleeper(site.sleeper, io, { clock: io.clock, interactive: isInteractive(io), label: '[retire-old-root]' }), signal, report: createProgressPrinter(io, resume),
        ...(opts.until ? { until: opts.until } : {}),
        ...(opts.force ? { force: true } : {}),
      }));
    return finishRotation(io, outcome);
  } finally {
    await lock.release();
  }
}

/** `user@host` of whoever runs `warden mtls rotate` (recorded in the journal; `--status` and `doctor` show it). */
function personIdentity(io: Io): string {
  let user = io.env.USER ?? io.env.LOGNAME ?? io.env.USERNAME;
  if (user === undefined) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${hostname()}`;
}

async function newRotation(opts: RotateOptions, io: Io, site: Site, runtime: RotationRuntime, resume: string): Promise<number> {
  const renewOpts = toRenewOptions(opts);
  const source = selectRenewSource(renewOpts);
  const inputs = await site.rotationInputs(opts, io, renewOpts, source);
  const { policy, settings } = inputs;
  const lock = opts.dryRun ? undefined : await site.journal.lock(io.clock.now());
  try {
    const existing = await site.journal.read();
    if (existing?.status === 'in-progress') {
      const message = `An unfinished rotation (${existing.id}, last completed phase: ${existing.phase}) exists in ${site.journalWhere}. ` +
        `Continue it with \`${resume}\`, or abandon it with \`${site.commandLine('rollback', existing.backup ? ['--backup', existing.backup.name] : [])}\``;
      if (!opts.dryRun) throw new WardenError('ERR_ROTATION_IN_PROGRESS', message);
      if (opts.output !== 'json') printStatus(io, 'warning', message);
    }
    const read = await site.store.read();
    if ('anchorsMismatch' in read && opts.output !== 'json') {
      const mismatch = (read as { anchorsMismatch: { message: string } }).anchorsMismatch;
      printStatus(io, 'warning', `${mismatch.message.split(':')[0]}; the rotation writes both byte-identical from its first phase`);
    }
    const original = readOriginal(read, site);
    if (opts.output !== 'json') printStatus(io, 'pending', `Planning a root rotation of ${site.store.description}`);
    const current = await inspectCurrentBundle({ read: () => Promise.resolve(read), write: (t, o) => site.store.write(t, o) });
    const material = await inputs.buildMaterial(current);
    // After the material is built: a fresh root is valid from its own clock reading, and checking it
    // against an earlier "now" finds it not yet valid when the build crosses a second (skew 0s).
    const now = io.clock.now();
    if (material.bundle === undefined) {
      printFindingsTable(io, material.parseFindings);
      printStatus(io, 'failure', 'The provided certificates do not parse; nothing was written');
      return EXIT.checksFailed;
    }
    const plan = planRotation({ original: original.bundle, material: material.bundle, now, policy });
    const backend = site.createBackend(settings, io, runtime, inputs.appCount === undefined ? {} : { appCount: inputs.appCount });
    const rows = buildTimeline({
      now,
      estimates: Object.fromEntries(WRITE_PHASES.map((p) => [p, backend.estimate(p, settings)])) as Parameters<typeof buildTimeline>[0]['estimates'],
      skips: Object.fromEntries(plan.phases.filter((p) => p.skip !== undefined).map((p) => [p.phase, p.skip])),
      policy,
      force: settings.force,
      oldChainEndsAt: oldChainEnd(original.bundle),
    });
    if (opts.output === 'json') {
      printJson(io, { ...dryRunJson(plan, rows, policy, settings), ...inputs.json });
      return plan.invalid ? EXIT.checksFailed : EXIT.ok;
    }
    const stop = presentPlan(io, plan, rows, opts.dryRun === true, inputs.restartsNote);
    if (stop !== undefined) return stop;
    const rootKeyPath = await saveRootKey(material);
    const texts = material.bundle.toTexts();
    const record = createRotationRecord({
      id: rotationId(now), now, store: site.store.description, policy,
      settings: { ...settings, ...startedBySettings(STARTED_BY_ROTATE, personIdentity(io)) },
      original: { texts: original.texts, version: original.version },
      material: { source, anchorsPem: texts.ca, issuerCertPem: texts.issuerCert, issuerKeyPem: texts.issuerKey, ...(rootKeyPath ? { rootKeyPath } : {}) },
    });
    printStatus(io, 'info', `Rotation ${record.id} recorded in ${site.journalWhere}`);
    const outcome = await withInterrupt(io, runtime, (signal) =>
      startRotation(record, {
        backend, clock: io.clock, sleeper: countdownSleeper(site.sleeper, io, { clock: io.clock, interactive: isInteractive(io), label: '[retire-old-root]' }), signal, report: createProgressPrinter(io, resume),
        ...(opts.until ? { until: opts.until } : {}),
      }));
    return finishRotation(io, outcome);
  } finally {
    await lock?.release();
  }
}

/** The bundle before the rotation: it must exist, be complete and parse (the old issuer is kept in add-anchor). */
function readOriginal(read: BundleReadResult, site: Site): { bundle: TrustBundle; texts: RotationRecord['original']['texts']; version: string } {
  if (read.state === 'absent') throw site.describeBundleProblem('absent', '');
  if (read.state === 'partial') throw site.describeBundleProblem('partial', `${read.missing.join(', ')} missing (${read.present.join(', ')} present)`);
  try {
    return { bundle: TrustBundle.fromTexts(read.texts), texts: read.texts, version: read.version };
  } catch (error) {
    const wrapped = site.describeBundleProblem('invalid', (error as Error).message);
    throw new WardenError(wrapped.code, wrapped.message, { cause: error });
  }
}

/** `20261130T035623Z-66c6d6`: the start time (sortable) and 3 random bytes. */
export function rotationId(now: Date): string {
  return `${now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** Writes the new root's key (PKCS#8, 0600, never over an existing file); the path, or undefined when not asked. */
async function saveRootKey(plan: { rootKeyOut?: string | undefined; rootKey?: KeyObject | undefined }): Promise<string | undefined> {
  if (plan.rootKeyOut === undefined || plan.rootKey === undefined) return undefined;
  const path = plan.rootKeyOut;
  await writeFileAtomic(path, privateKeyToPkcs8Pem(plan.rootKey), 0o600, { exclusive: true }).catch((error: unknown) => {
    throw fileIoError(`cannot write --root-key-out file ${path}`, error);
  });
  return path;
}

function dryRunJson(plan: RotationPlan, rows: readonly TimelineRow[], policy: RotationPolicy, settings: RotationSettings): Record<string, unknown> {
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
    totalMs: timelineDurationMs([...rows]),
  };
}
