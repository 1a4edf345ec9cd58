import { isWardenError } from '../core/errors.js';
import type { RotationRecord } from '../core/rotation-phases/record.js';
import type { JournalStore } from '../rotation-engine/journal.js';

/**
 * The rotation record, or undefined when there is none or it cannot be read (ERR_ROTATION_JOURNAL_INVALID:
 * `warden mtls doctor` is the place to sort that out; the fleet row just shows no rotation).
 */
export async function readJournal(journal: JournalStore): Promise<RotationRecord | undefined> {
  try {
    return await journal.read();
  } catch (error) {
    if (isWardenError(error) && error.code === 'ERR_ROTATION_JOURNAL_INVALID') return undefined;
    throw error;
  }
}
