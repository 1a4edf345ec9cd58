/**
 * The facts `doctor` gathers from a store and a rotation journal, the same in both modes (the
 * self-hosted and Kubernetes doctors add their own mode-specific facts around these).
 */
import { TrustBundle } from '../core/bundle.js';
import { runChecks, type CheckPolicy } from '../core/checks/index.js';
import { isWardenError } from '../core/errors.js';
import type { BundleReadResult } from '../stores/store.js';
import type { BundleFact, RotationFact } from './diagnose.js';
import { bundlesOf, explainableStoreTexts, sameTexts } from './engine.js';
import type { JournalStore } from './journal.js';

/** The bundle as read, parsed and checked; a bundle that does not parse is `unreadable`, not an error. */
export function bundleFactOf(read: BundleReadResult, now: Date, policy: CheckPolicy): BundleFact {
  if (read.state !== 'complete') return read;
  try {
    const bundle = TrustBundle.fromTexts(read.texts);
    return { state: 'complete', bundle, texts: read.texts, findings: runChecks(bundle, now, policy) };
  } catch (error) {
    return { state: 'unreadable', message: (error as Error).message };
  }
}

/** Where a rotation stands: its record, who holds the lock, and whether the store is in a state the journal explains. */
export async function rotationFactOf(journal: JournalStore, bundle: BundleFact): Promise<RotationFact> {
  try {
    const record = await journal.read();
    const running = await journal.lockHolder();
    const fact: RotationFact = {};
    if (record !== undefined) fact.record = record;
    if (running !== undefined) fact.running = running;
    if (record?.status === 'in-progress') {
      const texts = bundle.state === 'complete' ? bundle.texts : undefined;
      fact.storeMatches = texts !== undefined && explainableStoreTexts(record, bundlesOf(record).targets).some((t) => sameTexts(t, texts));
    }
    return fact;
  } catch (error) {
    if (isWardenError(error)) return { invalid: error.message };
    throw error;
  }
}
