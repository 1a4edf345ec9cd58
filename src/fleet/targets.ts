/**
 * Which targets a `warden fleet` / `warden monitor` run reads: every context of the kubeconfig
 * (`--kubeconfig` files merged as `$KUBECONFIG` is, else kubectl's lookup), or the `--contexts`
 * named, plus each `--issuer-credentials` directory. With only directories given, no kubeconfig is
 * read.
 */
import { WardenError } from '../core/errors.js';
import { DirectoryTargetReader } from './dir-target.js';
import { KubeTargetReader, kubeContexts, type KubeTargetOptions } from './kube-target.js';
import type { TargetReader } from './target-reader.js';

export interface FleetTargetOptions {
  kubeconfigs: readonly string[];
  contexts?: readonly string[];
  issuerCredentials: readonly string[];
  namespace?: string;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  appsNotConverged?: KubeTargetOptions['appsNotConverged'];
}

export async function resolveTargets(opts: FleetTargetOptions): Promise<TargetReader[]> {
  const readers: TargetReader[] = [];
  const wantsKube = opts.issuerCredentials.length === 0 || opts.kubeconfigs.length > 0 || opts.contexts !== undefined;
  if (wantsKube) {
    const known = await kubeContexts(opts.kubeconfigs, opts.env);
    const contexts = opts.contexts ?? known;
    const unknown = contexts.filter((c) => !known.includes(c));
    if (unknown.length > 0) {
      throw new WardenError('ERR_USAGE', `--contexts names ${unknown.map((c) => `"${c}"`).join(', ')}, not in the kubeconfig (contexts: ${known.join(', ') || 'none'}); 'kubectl config get-contexts' lists them`);
    }
    if (contexts.length === 0 && opts.issuerCredentials.length === 0) {
      throw new WardenError('ERR_USAGE', 'the kubeconfig has no context and no --issuer-credentials directory was given: nothing to read');
    }
    for (const context of contexts) {
      readers.push(new KubeTargetReader({
        context, kubeconfigs: opts.kubeconfigs, env: opts.env,
        ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
        ...(opts.appsNotConverged ? { appsNotConverged: opts.appsNotConverged } : {}),
      }));
    }
  }
  for (const dir of opts.issuerCredentials) readers.push(new DirectoryTargetReader(dir, opts.cwd));
  const names = readers.map((r) => r.name);
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length > 0) throw new WardenError('ERR_USAGE', `target ${twice.map((n) => `"${n}"`).join(', ')} is given twice`);
  return readers;
}
