/**
 * Which site the flags address: the cluster with `-k` (loaded lazily: it brings in the Kubernetes
 * client), else the credentials directory; cluster-only flags without `-k` are refused.
 */
import { WardenError } from '../../core/errors.js';
import type { Io } from '../io.js';
import { rejectKubeFlagsWithoutK } from '../kube-options.js';
import type { CredentialOptions } from '../options.js';
import type { RotationRuntime, Site, SiteOptions } from './site.js';

/** `guard`: another command checking for an unfinished rotation (it checks its own flags). */
export type SiteCommand = 'rotate' | 'rollback' | 'backups' | 'doctor' | 'guard';

/** The site the flags address: the cluster with `-k`, else the credentials directory. */
export async function openSite(command: SiteCommand, opts: SiteOptions, io: Io, runtime: RotationRuntime = {}): Promise<Site> {
  if (opts.kubernetes) return (await import('./cluster-site.js')).openClusterSite(opts, io, runtime);
  if (command !== 'guard') rejectClusterFlags(command, opts);
  return (await import('./directory-site.js')).openDirectorySite(opts as SiteOptions & CredentialOptions, io, runtime);
}

function rejectClusterFlags(command: SiteCommand, o: SiteOptions): void {
  // rotate's --namespace also names the issuer's namespace in a directory.
  rejectKubeFlagsWithoutK(o, { namespace: command !== 'rotate' });
  const kubeOnly = [['--app-namespaces', o.appNamespaces], ['--max-concurrent-restarts', o.maxConcurrentRestarts]].filter(([, v]) => v !== undefined).map(([f]) => f);
  if (command === 'rollback' && (o.restart === false || o.restartApps === false)) kubeOnly.push('--no-restart/--no-restart-apps');
  if (command === 'rollback' && o.timeout !== undefined) kubeOnly.push('--timeout');
  if (kubeOnly.length > 0) throw new WardenError('ERR_USAGE', `${kubeOnly.join(', ')} only apply to the cluster's bundle: add -k/--kubernetes`);
}

