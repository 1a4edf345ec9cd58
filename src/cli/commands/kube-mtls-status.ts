import { WardenError, isWardenError } from '../../core/errors.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import type { KubeCliOptions } from '../kube-options.js';
import { printStatus } from '../output.js';

/**
 * `warden mtls -k` (spec 6.1): whether mTLS is on, from the first `daprsystem` Configuration in
 * any namespace (or in `--namespace`), printed exactly as Dapr prints it, space before the
 * newline included: `Mutual TLS is enabled in your Kubernetes cluster \n`.
 *
 * Where Dapr's CLI dereferences a nil `spec.mtls.enabled` (and panics), Warden says what an
 * absent field means: Dapr's default, enabled. Errors keep Dapr's `error checking mTLS: <err>`
 * wording (exit 1), e.g. `error checking mTLS: system configuration not found`.
 */
export async function kubeMtlsStatusCommand(opts: KubeCliOptions, io: Io): Promise<number> {
  const { openKubeClients } = await import('../kube-bundle.js');
  const { findDaprSystemConfiguration } = await import('../../kube/discovery.js');
  let found: Awaited<ReturnType<typeof findDaprSystemConfiguration>>;
  try {
    found = await findDaprSystemConfiguration(await openKubeClients(opts, io), opts.namespace);
  } catch (err) {
    if (!isWardenError(err)) throw err;
    throw new WardenError(err.code, `error checking mTLS: ${err.message}`, { cause: err });
  }
  if (!found) {
    const where = opts.namespace ? `in namespace ${opts.namespace}` : 'in any namespace';
    throw new WardenError(
      'ERR_DAPR_NOT_FOUND',
      `error checking mTLS: system configuration not found — no Configuration "daprsystem" ${where}; is Dapr installed? (--namespace names Dapr's namespace)`,
    );
  }
  const enabled = found.configuration.mtlsEnabled;
  io.stdout(`Mutual TLS is ${enabled === false ? 'disabled' : 'enabled'} in your Kubernetes cluster \n`);
  if (enabled === undefined) {
    printStatus(io, 'info', `the daprsystem Configuration in ${found.namespace} does not set spec.mtls.enabled; Dapr's default is enabled`);
  }
  return EXIT.ok;
}
