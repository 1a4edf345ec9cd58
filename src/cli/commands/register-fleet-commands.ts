/** Wires `warden fleet` and `warden monitor` into commander (program.ts calls this once). */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CliDeps } from '../deps.js';
import type { Io } from '../io.js';
import { parsePortArg, parseTimeoutArg } from '../options.js';
import { fleetCommand, FLEET_OUTPUT_FORMATS, type FleetOptions } from './fleet.js';
import { monitorCommand, type MonitorCommandOptions } from './monitor.js';

type Runner = (fn: () => Promise<number>) => () => Promise<void>;

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function parseContextsArg(value: string, previous: string[] | undefined): string[] {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new InvalidArgumentError('expected comma-separated kubeconfig context names.');
  return [...(previous ?? []), ...names];
}

function addTargetOptions(cmd: Command, timeoutDefault: string): Command {
  return cmd
    .option('--kubeconfig <files>', 'kubeconfig file(s), merged as $KUBECONFIG is; repeat it or give a path list (default: $KUBECONFIG, ~/.kube/config, or in-cluster)', collect)
    .option('--contexts <names>', 'only these contexts (comma-separated; default: every context of the kubeconfig)', parseContextsArg)
    .option('--issuer-credentials <dir>', 'a self-hosted credentials directory to read too; repeat it for several (alone: no kubeconfig is read)', collect)
    .option('--namespace <namespace>', 'Dapr\'s namespace in every cluster (default: found as the Dapr CLI does, which lists across namespaces)')
    .addOption(new Option('--timeout <duration>', 'per target: give up on a target that has not answered within this (seconds, or a Go duration)')
      .argParser(parseTimeoutArg).default(parseTimeoutArg(timeoutDefault), timeoutDefault));
}

export function registerFleetCommands(program: Command, io: Io, deps: CliDeps, run: Runner): void {
  addTargetOptions(
    program
      .command('fleet')
      .description('Every cluster\'s and directory\'s Dapr trust at a glance: expiry, rotation, drift, sentry; exit 0 healthy, 1 action needed, 3 expired or broken')
      .addOption(new Option('-o, --output <format>', 'text, wide (more columns) or json').choices(FLEET_OUTPUT_FORMATS).default('text')),
    '10s',
  ).action(function (this: Command) {
    return run(() => fleetCommand(this.opts<FleetOptions>(), io))();
  });

  addTargetOptions(
    program
      .command('monitor')
      .description('Watch the fleet: re-read every target each --interval; serve a page on /, /api/fleet, Prometheus /metrics and /healthz')
      .addOption(new Option('--interval <duration>', 'time between reads (seconds, or a Go duration)').argParser(parseTimeoutArg).default(60_000, '1m'))
      .option('--port <port>', 'HTTP port (0: any free port)', parsePortArg, 9090)
      .addOption(new Option('--listen-address <address>', 'HTTP listen address; empty: all interfaces').default(''))
      .option('--refresh <seconds>', 'how often the page reloads /api/fleet', parseRefreshArg, 30)
      .option('--title <text>', 'the page\'s title', 'Warden fleet'),
    '10s',
  ).action(function (this: Command) {
    return run(() => monitorCommand(this.opts<MonitorCommandOptions>(), io, deps))();
  });
}

function parseRefreshArg(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > 86_400) throw new InvalidArgumentError('expected whole seconds from 1 to 86400.');
  return Number(value);
}
