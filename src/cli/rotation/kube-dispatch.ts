/**
 * Sends `rotate`, `rollback`, `backups` and `doctor` to their Kubernetes halves when `-k` is given
 * (loaded lazily: they bring in the Kubernetes client); without `-k`, refuses the cluster-only flags.
 */
import { WardenError } from '../../core/errors.js';
import type { Io } from '../io.js';
import { rejectKubeFlagsWithoutK, type KubeCliOptions } from '../kube-options.js';
import type { RotationRuntime } from './rotate-setup.js';

export type KubeRotationCommand = 'rotate' | 'rollback' | 'backups' | 'doctor';

/** The exit code of the `-k` command, or undefined when `opts` is not `-k` (run the self-hosted one). */
export async function dispatchKube(command: KubeRotationCommand, opts: object, io: Io, runtime: RotationRuntime): Promise<number | undefined> {
  const o = opts as KubeCliOptions & Record<string, unknown>;
  if (!o.kubernetes) {
    // rotate's --namespace also names the issuer's namespace self-hosted.
    rejectKubeFlagsWithoutK(o, { namespace: command !== 'rotate' });
    const kubeOnly = [['--app-namespaces', o.appNamespaces], ['--max-concurrent-restarts', o.maxConcurrentRestarts]].filter(([, v]) => v !== undefined).map(([f]) => f);
    if (command === 'rollback' && (o.restart === false || o.restartApps === false)) kubeOnly.push('--no-restart/--no-restart-apps');
    if (command === 'rollback' && o.timeout !== undefined) kubeOnly.push('--timeout');
    if (kubeOnly.length > 0) throw new WardenError('ERR_USAGE', `${kubeOnly.join(', ')} only apply to the cluster's bundle: add -k/--kubernetes`);
    return undefined;
  }
  switch (command) {
    case 'rotate':
      return (await import('./kube-rotate.js')).rotateKubernetes(opts as Parameters<typeof import('./kube-rotate.js').rotateKubernetes>[0], io, runtime);
    case 'rollback':
      return (await import('./kube-rollback.js')).rollbackKubernetes(opts as import('./kube-rollback.js').KubeRollbackOptions, io, runtime);
    case 'backups':
      return (await import('./kube-rollback.js')).backupsKubernetes(opts as import('./kube-rollback.js').KubeBackupsOptions, io, runtime);
    case 'doctor':
      return (await import('./kube-doctor.js')).doctorKubernetes(opts as import('./kube-doctor.js').KubeDoctorOptions, io, runtime);
  }
}
