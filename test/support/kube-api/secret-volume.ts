/**
 * A Secret volume as the kubelet projects it (pkg/volume/util/atomic_writer.go): the keys are
 * written into a fresh timestamped directory `..<timestamp>`, a `..data_tmp` link to it is renamed
 * over `..data`, each key is a link `<key> -> ..data/<key>`, and the old directory is removed.
 * `mirrorSecretVolume` keeps such a directory in step with a Secret of the test API server, as the
 * kubelet does for a pod that mounts it (here at once, where the kubelet takes up to a minute).
 */
import { mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeApiServer } from './server.js';

let generation = 0;

/** Projects `data` (base64 values, as in a Secret) into `dir` atomically. */
export function projectSecretVolume(dir: string, data: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '')}.${process.pid}${generation++}`;
  const fresh = join(dir, stamp);
  mkdirSync(fresh, { mode: 0o755 });
  for (const [key, value] of Object.entries(data)) writeFileSync(join(fresh, key), Buffer.from(value, 'base64'), { mode: 0o644 });
  let old: string | undefined;
  try {
    old = readlinkSync(join(dir, '..data'));
  } catch {
    old = undefined;
  }
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  const keys = new Set(Object.keys(data));
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('..')) continue;
    if (!keys.has(entry)) rmSync(join(dir, entry), { force: true });
  }
  for (const key of keys) {
    try {
      symlinkSync(join('..data', key), join(dir, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if (old !== undefined && old !== stamp) rmSync(join(dir, old), { recursive: true, force: true });
}

/** Mirrors Secret `namespace/name` into `dir` now and on every change; returns `stop`. */
export function mirrorSecretVolume(server: KubeApiServer, namespace: string, name: string, dir: string): () => void {
  const project = (data: unknown) => projectSecretVolume(dir, (data ?? {}) as Record<string, string>);
  project(server.api.find('secrets', namespace, name)?.data);
  return server.store.subscribe((event) => {
    if (event.resource.plural !== 'secrets' || event.object.metadata.namespace !== namespace || event.object.metadata.name !== name) return;
    if (event.type !== 'DELETED') project(event.object.data);
  });
}
