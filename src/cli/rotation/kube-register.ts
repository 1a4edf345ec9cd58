/**
 * The `-k` flags of `warden mtls rotate`, `rollback`, `backups` and `doctor`, added to the commands
 * register.ts made (one call there), so the Kubernetes half stays in its own files. `rotate` keeps
 * its `--namespace` (with -k: Dapr's namespace, as renew-certificate's).
 */
import type { Command } from 'commander';
import { addKubeOptions } from '../kube-options.js';
import { parseConcurrencyArg, parseNamespaceListArg } from '../renew/options.js';
import { parseTimeoutArg } from './rotate-options.js';

function sub(mtls: Command, name: string): Command | undefined {
  return mtls.commands.find((c) => c.name() === name);
}

const APP_NAMESPACES = '-k: only Dapr apps in these comma-separated namespaces (default: all)';
const MAX_CONCURRENT = '-k: Dapr apps restarting at once (default: 5)';

export function addKubeRotationFlags(mtls: Command): void {
  const rotate = sub(mtls, 'rotate');
  if (rotate) {
    addKubeOptions(rotate, { namespace: false })
      .option('--app-namespaces <list>', APP_NAMESPACES, parseNamespaceListArg)
      .option('--max-concurrent-restarts <n>', MAX_CONCURRENT, parseConcurrencyArg);
  }
  const rollback = sub(mtls, 'rollback');
  if (rollback) {
    addKubeOptions(rollback)
      .option('--no-restart', '-k: write the backup but restart nothing (print what to restart)')
      .option('--no-restart-apps', '-k: restart the control plane only, not the Dapr apps')
      .option('--app-namespaces <list>', APP_NAMESPACES, parseNamespaceListArg)
      .option('--max-concurrent-restarts <n>', MAX_CONCURRENT, parseConcurrencyArg)
      .option('--timeout <duration>', '-k: how long to wait for each rollout (Go duration or seconds; default: "5m")', parseTimeoutArg);
  }
  const backups = sub(mtls, 'backups');
  if (backups) addKubeOptions(backups);
  const doctor = sub(mtls, 'doctor');
  if (doctor) addKubeOptions(doctor).option('--app-namespaces <list>', APP_NAMESPACES, parseNamespaceListArg);
}
