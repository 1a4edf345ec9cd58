/**
 * What `warden mtls rotate` prints: the plan and its timeline (--dry-run and before a rotation
 * starts), progress while it runs, and where a rotation stands (--status, text or JSON).
 */
import { describeStarter } from '../../core/rotation-phases/started-by.js';
import type { Certificate } from '../../core/certificate.js';
import { describeDuration, describeTime } from '../../core/checks/labels.js';
import { formatGoDuration } from '../../core/duration.js';
import { WRITE_PHASES, type WritePhase } from '../../core/rotation-phases/phases.js';
import { TrustBundle } from '../../core/bundle.js';
import type { RotationPlan } from '../../core/rotation-phases/plan.js';
import { phaseState, type RotationRecord } from '../../core/rotation-phases/record.js';
import { nextStep, retireAfterOf, timelineDurationMs, type RotationStep, type TimelineRow } from '../../core/rotation-phases/schedule.js';
import type { RotationOutcome } from '../../rotation-engine/engine.js';
import type { RotationEvent } from '../../rotation-engine/events.js';
import type { JournalStore } from '../../rotation-engine/journal.js';
import { EXIT } from '../exit-codes.js';
import { countFindings, describeCounts, printFindingsTable } from '../findings.js';
import type { Io } from '../io.js';
import { formatTable, printJson, printStatus } from '../output.js';

function describeCert(cert: Certificate): string {
  const subject = cert.subject.text === '' ? '(empty subject)' : cert.subject.text;
  return `${subject}, serial ${cert.serialHex.slice(0, 12)}…, valid until ${describeTime(cert.notAfter)}`;
}

/** `24h15m0s`, `10s`: Go's format, to the second. */
function wholeSeconds(ms: number): string {
  return formatGoDuration(Math.round(ms / 1000) * 1000);
}

function indent(text: string): string {
  return text.split('\n').filter((l) => l !== '').map((l) => `  ${l}\n`).join('');
}

/** The phases, what each writes, and the findings of any target that fails. */
export function printRotationPlan(io: Io, plan: RotationPlan): void {
  for (const note of plan.notes) printStatus(io, 'warning', note);
  const rows = plan.phases.map((p) => {
    const t = p.target;
    const what = p.skip !== undefined
      ? `skipped: ${p.skip}`
      : `ca.crt: ${t.anchors.length} root(s); issuer: ${describeCert(t.issuer)}`;
    const counts = countFindings(p.findings);
    const checks = p.skip !== undefined ? '-' : counts.errors + counts.warnings === 0 ? 'pass' : describeCounts(counts);
    return [p.phase, what, checks];
  });
  io.stdout(indent(formatTable(['PHASE', 'TARGET', 'CHECKS'], rows)));
  for (const p of plan.phases) {
    if (p.skip === undefined && countFindings(p.findings).errors > 0) {
      printStatus(io, 'failure', `The ${p.phase} target fails its checks:`);
      printFindingsTable(io, p.findings);
    }
  }
}

/** The expected timeline: one row per step with its duration and expected start. */
export function printTimeline(io: Io, rows: readonly TimelineRow[], total: number): void {
  const table = rows.map((r) => [r.phase, r.step, r.durationMs === 0 ? '-' : wholeSeconds(r.durationMs), describeTime(r.startsAt)]);
  io.stdout(indent(formatTable(['PHASE', 'STEP', 'DURATION', 'EXPECTED START'], table)));
  printStatus(io, 'info', `Expected total: ${wholeSeconds(total)} (use --until <phase> to stop after a phase and --resume later)`);
}

/** Prints engine events as status lines. `resume` is the command that continues the rotation. */
export function createProgressPrinter(io: Io, resume: string): (event: RotationEvent) => void {
  return (e) => {
    switch (e.kind) {
      case 'phase-start':
        printStatus(io, 'pending', `[${e.phase}] ${e.summary}`);
        break;
      case 'skipped':
        printStatus(io, 'warning', `[${e.phase}] Skipped: ${e.reason}`);
        break;
      case 'written':
        printStatus(io, 'success', e.alreadyThere
          ? `[${e.phase}] The store already holds this phase's bundle; nothing written`
          : `[${e.phase}] Written${e.backup ? `; the bundle from before the rotation is backed up in ${e.backup}` : ''}`);
        break;
      case 'resumed':
        printStatus(io, 'info', `[${e.phase}] Resuming: the interrupted write ${e.found === 'written' ? 'had reached the store' : 'had not happened; writing it now'}`);
        break;
      case 'propagating':
        printStatus(io, 'pending', `[${e.phase}] Waiting ${wholeSeconds(Math.ceil(e.untilMs / 1000) * 1000)} for ${e.what}`);
        break;
      case 'converging':
        printStatus(io, 'pending', `[${e.phase}] Confirming that ${e.what}`);
        break;
      case 'converged':
        printStatus(io, e.confirmed ? 'success' : 'warning', `[${e.phase}] Complete; convergence ${e.note}`);
        break;
      case 'advice':
        printStatus(io, 'info', `[${e.phase}] ${e.message}`);
        break;
      case 'waiting':
        printStatus(io, 'pending', `[${e.phase}] Waiting until ${describeTime(e.until)}: ${e.why}. ` +
          `Ctrl-C stops cleanly; continue later with \`${resume}\` (add --force to retire at once, once every app runs with the new certificates)`);
        break;
      case 'stopped-after':
        printStatus(io, 'info', `Stopped after ${e.phase} as asked (--until). Continue with \`${resume}\``);
        break;
      case 'finished':
        printStatus(io, 'success', 'Rotation complete: ca.crt holds only the new root, and the new issuer signs');
        break;
      case 'trust-not-converged': {
        const list = e.pods.slice(0, 10).map((p) => `${p.namespace}/${p.name}${p.owner ? ` (${p.owner})` : ''}: ${p.reason}`);
        const more = e.pods.length > 10 ? [`… and ${e.pods.length - 10} more`] : [];
        const doing = e.restarting.length > 0 ? `restarting ${e.restarting.join(', ')}` : `waiting for them (--restarts ${e.policy}); the issuer is not switched until they do`;
        printStatus(io, 'pending', `[${e.phase}] ${e.pods.length} of ${e.checked} running Dapr pod(s) do not trust the new root yet; ${doing}:\n${[...list, ...more].map((l) => `    ${l}`).join('\n')}`);
        break;
      }
      case 'trust-converged':
        printStatus(io, 'success', `[${e.phase}] All ${e.checked} running Dapr pod(s) trust the new root`);
        break;
      case 'trust-distributed':
        printStatus(io, 'info', `[${e.phase}] dapr-root-ca.crt written in ${[...e.created.map((n) => `${n} (created)`), ...e.updated].join(', ')} (${e.namespaces} namespace(s) with Dapr apps)`);
        break;
    }
  };
}

/** What `--status -o json` prints (no private keys). */
export function statusJson(record: RotationRecord, now: Date, running: string | undefined, path: string): Record<string, unknown> {
  const step = nextStep(record, now);
  return {
    id: record.id,
    status: record.status,
    phase: record.phase,
    journal: path,
    store: record.store,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    running: running ?? null,
    source: record.material.source,
    rootKeyPath: record.material.rootKeyPath ?? null,
    policy: record.policy,
    settings: record.settings,
    startedBy: describeStarter(record.settings) ?? null,
    backup: record.backup ?? null,
    retireAfter: retireAfterOf(record)?.toISOString() ?? null,
    phases: Object.fromEntries(WRITE_PHASES.map((p) => [p, { state: phaseState(record.phases[p]), ...record.phases[p] }])),
    next: stepJson(step),
  };
}

function stepJson(step: RotationStep): Record<string, unknown> {
  if (step.kind === 'done' || step.kind === 'finish') return { kind: step.kind };
  if (step.kind === 'wait') return { kind: step.kind, phase: step.phase, until: step.until.toISOString() };
  if (step.kind === 'converge') return { kind: step.kind, phase: step.phase, propagatedAt: step.propagatedAt.toISOString() };
  return { kind: step.kind, phase: step.phase };
}

/** `--status` as text. */
export function printRotationStatus(io: Io, record: RotationRecord, now: Date, running: string | undefined, resume: string): void {
  const headline = record.status === 'in-progress'
    ? `Rotation ${record.id} is in progress (last completed phase: ${record.phase})${running ? `, running now (${running})` : ', not running'}`
    : record.status === 'done'
      ? `Rotation ${record.id} is done (finished ${describeTime(new Date(record.updatedAt))})`
      : `Rotation ${record.id} was rolled back at ${describeTime(new Date(record.rolledBackAt ?? record.updatedAt))}`;
  printStatus(io, record.status === 'in-progress' ? 'pending' : 'info', headline);
  const starter = describeStarter(record.settings);
  if (starter !== undefined) printStatus(io, 'info', `Started by ${starter}`);
  const rows: string[][] = [['plan', 'complete', describeTime(new Date(record.createdAt)), '']];
  for (const phase of WRITE_PHASES) rows.push(phaseRow(record, phase));
  io.stdout(indent(formatTable(['PHASE', 'STATE', 'AT', 'NOTE'], rows)));
  if (record.status !== 'in-progress') return;
  const step = nextStep(record, now);
  if (running !== undefined) return;
  const next = step.kind === 'wait'
    ? `retire-old-root may run from ${describeTime(step.until)} (in ${describeDuration(step.until.getTime() - now.getTime())}); \`${resume}\` waits until then, or add --force`
    : `continue with \`${resume}\``;
  printStatus(io, 'info', `Next: ${next}`);
}

function phaseRow(record: RotationRecord, phase: WritePhase): string[] {
  const p = record.phases[phase];
  const state = phaseState(p);
  const at = p.completedAt ?? p.writtenAt ?? p.startedAt;
  let note = p.skipped ?? p.convergence ?? '';
  if (state === 'written') note = 'written; waiting for propagation and convergence';
  if (state === 'started') note = 'write started; --resume checks whether it reached the store';
  if (phase === 'retire-old-root' && state === 'pending') {
    const until = retireAfterOf(record);
    if (until !== undefined) note = `not before ${describeTime(until)}`;
  }
  return [phase, state, at === undefined ? '' : describeTime(new Date(at)), note];
}

/**
 * `rotate --status`, the same in both modes: where the recorded rotation stands, or that there is
 * none. `where` names the journal (a file path, or a Secret).
 */
export async function showRotationStatus(
  output: string | undefined, io: Io, journal: Pick<JournalStore, 'read' | 'lockHolder'>, where: string, resume: string,
  siteExtras?: (record: RotationRecord | undefined) => Promise<{ json: Record<string, unknown>; text: string } | undefined>,
): Promise<number> {
  const record = await journal.read();
  const running = await journal.lockHolder();
  // The cluster's per-pod trust convergence (the same reading as `doctor -k`).
  const extras = await siteExtras?.(record);
  if (record === undefined) {
    if (output === 'json') printJson(io, { status: 'none', journal: where, ...(extras?.json ?? {}) });
    else printStatus(io, 'info', `No rotation has been recorded in ${where}`);
    if (output !== 'json' && extras?.text) io.stdout(extras.text);
    return EXIT.ok;
  }
  if (output === 'json') printJson(io, { ...statusJson(record, io.clock.now(), running, where), ...(extras?.json ?? {}) });
  else {
    printRotationStatus(io, record, io.clock.now(), running, resume);
    if (extras?.text) io.stdout(extras.text);
  }
  return EXIT.ok;
}


/**
 * Prints the plan and its timeline (with `restartsNote` between them, when given). The exit code when
 * the command ends here (a phase fails its checks, or `--dry-run`); undefined when it goes on.
 */
export function presentPlan(io: Io, plan: RotationPlan, rows: readonly TimelineRow[], dryRun: boolean, restartsNote?: string): number | undefined {
  printRotationPlan(io, plan);
  if (plan.invalid) {
    printStatus(io, 'failure', 'A phase\'s bundle fails its checks; nothing was written');
    return EXIT.checksFailed;
  }
  if (restartsNote !== undefined) printStatus(io, 'info', restartsNote);
  printTimeline(io, [...rows], timelineDurationMs([...rows]));
  if (dryRun) {
    printStatus(io, 'info', 'Dry run: nothing was written');
    return EXIT.ok;
  }
  return undefined;
}

/** The end of a run: the new root's validity once the rotation is done. */
export function finishRotation(io: Io, outcome: RotationOutcome): number {
  if (outcome.result === 'done' && outcome.record.status === 'done') {
    const m = outcome.record.material;
    const bundle = TrustBundle.fromTexts({ ca: m.anchorsPem, issuerCert: m.issuerCertPem, issuerKey: m.issuerKeyPem });
    printStatus(io, 'success', `The new root is valid through ${describeTime(bundle.root.notAfter)}`);
  }
  return EXIT.ok;
}
