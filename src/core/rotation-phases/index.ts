/** Zero-downtime root rotation, the pure part: phases, targets, plan, record and schedule. */
export * from './phases.js';
export * from './targets.js';
export * from './record.js';
export * from './schedule.js';
export * from './plan.js';
