import { bundleFactOf, rotationFactOf } from '../../rotation-engine/doctor-facts.js';
import { diagnose, orderFixes, type Diagnosis, type DoctorFacts, type FixStep } from '../../rotation-engine/diagnose.js';
import { inspectBackups } from '../../rotation-engine/rollback.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { printJson, printStatus, type OutputFormat } from '../output.js';
import { openSite } from '../site/open-site.js';
import type { DoctorSiteOptions, RotationRuntime } from '../site/site.js';
import { resolveRotationPolicy } from './rotate-options.js';

export interface DoctorOptions extends DoctorSiteOptions {
  output: OutputFormat;
}

/** Fixes that repair everything by themselves: a site's own fixes are not needed beside them. */
const ONE_STEP_FIXES = new Set<FixStep['kind']>(['resume', 'rollback', 'renew', 'wait-rotation']);

/**
 * `warden mtls doctor`: diagnoses the mTLS state of a directory or (`-k`) the cluster — no, partial
 * or unreadable bundle; expired or expiring root or issuer; other check errors; an unfinished or
 * diverged rotation; plus what only the site shows (a probed sentry, anchors files workloads read;
 * the ConfigMap, dapr-sentry's rollout, apps on old anchors) — and prints the exact commands that
 * fix it, in the order their dependencies need. Exit 0 when healthy (infos only), 1 when action is needed.
 */
export async function doctorCommand(opts: DoctorOptions, io: Io, _deps?: CliDeps, runtime: RotationRuntime = {}): Promise<number> {
  const site = await openSite('doctor', opts, io, runtime);
  const now = io.clock.now();
  const policy = await resolveRotationPolicy(opts, io);
  const bundle = bundleFactOf(await site.store.read(), now, { workloadTtlMs: policy.workloadTtlMs, clockSkewMs: policy.clockSkewMs });
  const backups = (await inspectBackups(site.store, now)).map((b) => ({ name: b.ref.name, restorable: b.restorable }));
  const facts: DoctorFacts = { now, bundle, backups, rotation: await rotationFactOf(site.journal, bundle), anchorsFiles: [] };
  const extras = await site.doctorExtras(opts, io, facts, runtime);
  const report = diagnose(facts);
  const diagnoses: Diagnosis[] = [...report.diagnoses];
  let fixes = report.fixes;
  const covered = fixes.some((f) => ONE_STEP_FIXES.has(f.kind));
  for (const d of extras.diagnoses) {
    diagnoses.push({ id: d.id, severity: d.severity, message: d.message });
    if (!covered) fixes = [...fixes, ...d.fixes];
  }
  fixes = orderFixes(fixes, facts);
  const rendered = fixes.map((f) => ({ ...f, command: site.renderFix(f) })).filter((f) => f.command !== '');
  const healthy = !diagnoses.some((d) => d.severity !== 'info');
  if (opts.output === 'json') {
    printJson(io, { ...site.jsonWhere, healthy, diagnoses, fixes: rendered, commands: rendered.map((f) => f.command), ...(extras.json ?? {}) });
    return healthy ? EXIT.ok : EXIT.failed;
  }
  const kind = { error: 'failure', warning: 'warning', info: 'info' } as const;
  for (const d of diagnoses) {
    // Failures go to stderr with printStatus; doctor's findings are its output, so keep them on stdout.
    if (d.severity === 'error') io.stdout(`❌  ${d.id}: ${d.message}\n`);
    else printStatus(io, kind[d.severity], `${d.id}: ${d.message}`);
  }
  if (extras.text) io.stdout(extras.text);
  if (healthy) printStatus(io, 'success', `mTLS in ${site.store.description} is healthy: nothing to do`);
  else if (rendered.length === 0) printStatus(io, 'info', 'No command fixes this by itself; see the messages above');
  else {
    printStatus(io, 'info', 'To fix it, run in order:');
    rendered.forEach((f, i) => io.stdout(`  ${i + 1}. ${f.command}\n`));
  }
  return healthy ? EXIT.ok : EXIT.failed;
}
