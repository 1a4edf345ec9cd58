/**
 * `warden fleet`: every cluster's (and credentials directory's) trust at a glance, one row per
 * target, read concurrently, each under `--timeout` (src/fleet). Exit 0 when every target is
 * healthy, 1 when one needs action (a warning, or unreachable), 3 when one is expired or broken.
 */
import { delimiter } from 'node:path';
import type { FleetReport, TargetReader, TargetStatus } from '../../fleet/index.js';
import { EXIT } from '../exit-codes.js';
import { formatFleetTable } from '../fleet-table.js';
import type { Io } from '../io.js';
import { printJson } from '../output.js';

export const FLEET_OUTPUT_FORMATS = ['text', 'wide', 'json'] as const;
export type FleetOutputFormat = (typeof FLEET_OUTPUT_FORMATS)[number];

export interface FleetTargetCliOptions {
  /** `--kubeconfig`, repeatable, each a file or a path list. */
  kubeconfig?: string[];
  contexts?: string[];
  issuerCredentials?: string[];
  namespace?: string;
  /** Per-target deadline, ms. */
  timeout: number;
}

export interface FleetOptions extends FleetTargetCliOptions {
  output: FleetOutputFormat;
}

/** Whether `warden fleet` may use colours: a terminal, not CI, not TERM=dumb, no NO_COLOR (as countdown.ts). */
export function colorWanted(io: Io, isTTY = process.stdout.isTTY === true): boolean {
  return isTTY && io.env.CI === undefined && io.env.TERM !== 'dumb' && (io.env.NO_COLOR ?? '') === '';
}

export async function openFleetTargets(opts: FleetTargetCliOptions, io: Io): Promise<TargetReader[]> {
  const { resolveTargets } = await import('../../fleet/index.js');
  const kubeconfigs = (opts.kubeconfig ?? []).flatMap((k) => k.split(delimiter)).filter((k) => k !== '');
  return resolveTargets({
    kubeconfigs,
    ...(opts.contexts !== undefined ? { contexts: opts.contexts } : {}),
    issuerCredentials: opts.issuerCredentials ?? [],
    ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
    env: io.env,
    cwd: io.cwd,
  });
}

export async function fleetCommand(opts: FleetOptions, io: Io, runtime: { isTTY?: boolean } = {}): Promise<number> {
  const readers = await openFleetTargets(opts, io);
  const { readFleet } = await import('../../fleet/index.js');
  const report = await readFleet(readers, { timeoutMs: opts.timeout, clock: io.clock });
  printFleet(io, report, opts.output, colorWanted(io, runtime.isTTY));
  return exitCodeFor(report.worst);
}

export function printFleet(io: Io, report: FleetReport, output: FleetOutputFormat, color: boolean): void {
  if (output === 'json') printJson(io, report);
  else io.stdout(formatFleetTable(report, { color, wide: output === 'wide' }));
}

/** 0 healthy; 1 warning or unreachable (action needed); 3 critical (expired or broken). */
export function exitCodeFor(worst: TargetStatus): number {
  if (worst === 'critical') return EXIT.checksFailed;
  return worst === 'healthy' ? EXIT.ok : EXIT.failed;
}
