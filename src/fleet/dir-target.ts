/**
 * A self-hosted target: a credentials directory read with the directory store (fs-store.ts) and
 * its rotation journal (`<dir>/.rotation/journal.json`). No namespace, version, ConfigMap or
 * sentry to speak of: those fields are null.
 */
import { resolve } from 'node:path';
import { FileJournalStore, defaultJournalDir } from '../rotation-engine/journal.js';
import { FsTrustBundleStore } from '../stores/fs-store.js';
import type { FleetTarget } from './model.js';
import { fixCommandWith, targetRow, type TargetReader } from './target-reader.js';
import { readJournal } from './journal-read.js';

export class DirectoryTargetReader implements TargetReader {
  readonly kind = 'self-hosted';
  readonly fallbackErrorCode = 'ERR_STORE_IO';
  readonly name: string;
  private readonly dir: string;

  constructor(dir: string, cwd = process.cwd()) {
    this.dir = resolve(cwd, dir);
    this.name = dir;
  }

  async read(_signal: AbortSignal, now: Date): Promise<FleetTarget> {
    const fix = fixCommandWith(['--issuer-credentials', this.dir]);
    const store = new FsTrustBundleStore({ dir: this.dir });
    const journal = new FileJournalStore(defaultJournalDir(this.dir), fix);
    const [read, record] = await Promise.all([store.read(), readJournal(journal)]);
    return targetRow(this, {
      read, record, daprNamespace: null, daprVersion: null, configMapInSync: null, sentry: null, appsNotConverged: null,
    }, fix, now);
  }
}
