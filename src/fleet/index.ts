/** `warden fleet` and `warden monitor`'s reading side: targets, one row each, the report (model.ts). */
export * from './model.js';
export { readFleet, readTarget, errorRow, type ReadOptions } from './read-fleet.js';
export { resolveTargets, type FleetTargetOptions } from './targets.js';
export type { TargetReader } from './target-reader.js';
