/**
 * `npm run bench [-- SUITE…] [--json FILE] [--runs N] [--seconds S] [--storm-clients N] [--storm-processes N]
 * [--storm-transport http2|grpc-js] [--load h2load|node] [--sentry-workers N] [--settle-seconds S] [--target warden|dapr]`: runs the selected suites in
 * order (all by default) and prints a compact report; figures are ratios against a ceiling measured
 * in the same run (DEVELOPERS.md). `--json FILE` also writes every figure as JSON. Child processes
 * are killed on the way out, whatever happens. `--target dapr` makes the grpc suite the comparison
 * with Dapr's own sentry (bench/grpc-dapr.ts; the binary named by DAPR_SENTRY).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { killAllChildren } from './children.js';
import { formatGrpcReport, GRPC_TIMING, runGrpcSuite, STORM_CLIENTS, STORM_PROCESSES, STORM_TRANSPORT, type GrpcSuiteResult, type LoadGenerator, type StormShape } from './grpc.js';
import { formatIssueReport, runIssueSuite, type IssueMeasurement, type TimingOptions } from './issue.js';

const SUITES = ['issue', 'grpc', 'kube-renew', 'kube-rotate', 'auto-renew', 'trust-convergence', 'pem', 'fleet', 'jwt'] as const;
type SuiteName = (typeof SUITES)[number];

const ISSUE_TIMING: TimingOptions = { runs: 3, runMs: 1000, warmupMs: 500 };

function usage(): string {
  return `usage: npm run bench [-- [${SUITES.join('|')}]… [--json FILE] [--runs N] [--seconds S] [--storm-clients N] [--storm-processes N] [--storm-transport http2|grpc-js] [--load h2load|node] [--sentry-workers N] [--settle-seconds S] [--target warden|dapr] [--apps N]]`;
}

interface CliOptions {
  suites: SuiteName[];
  json?: string;
  runs?: number;
  seconds?: number;
  storm: StormShape;
  load?: LoadGenerator;
  sentryWorkers?: number;
  /** grpc: seconds to wait after the last storm before reading the sentry's RSS again. */
  settleSeconds?: number;
  /** grpc: `dapr` compares Dapr's own sentry (DAPR_SENTRY) with warden sentry instead of the usual suite. */
  target: 'warden' | 'dapr';
  /** Whether --storm-clients was given (the dapr comparison has its own default). */
  stormClientsGiven: boolean;
  /** auto-renew: Dapr apps to renew for (default 100, so the run stays short; issue 10's figure is 1,000). */
  apps?: number;
}

function parseCli(argv: string[]): CliOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'string' }, runs: { type: 'string' }, seconds: { type: 'string' },
      'storm-clients': { type: 'string' }, 'storm-processes': { type: 'string' }, 'storm-transport': { type: 'string' },
      load: { type: 'string' }, 'sentry-workers': { type: 'string' }, 'settle-seconds': { type: 'string' }, target: { type: 'string' },
      apps: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  for (const name of positionals) {
    if (!(SUITES as readonly string[]).includes(name)) throw new Error(`unknown suite "${name}"; ${usage()}`);
  }
  const positive = (text: string | undefined, flag: string): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!(n > 0)) throw new Error(`--${flag} wants a positive number, got "${text}"`);
    return n;
  };
  const transport = values['storm-transport'] ?? STORM_TRANSPORT;
  if (transport !== 'http2' && transport !== 'grpc-js') throw new Error(`--storm-transport is http2 or grpc-js, got "${transport}"`);
  if (values.load !== undefined && values.load !== 'h2load' && values.load !== 'node') throw new Error(`--load is h2load or node, got "${values.load}"`);
  const target = values.target ?? 'warden';
  if (target !== 'warden' && target !== 'dapr') throw new Error(`--target is warden or dapr, got "${target}"`);
  const sentryWorkers = positive(values['sentry-workers'], 'sentry-workers');
  const runs = positive(values.runs, 'runs');
  const seconds = positive(values.seconds, 'seconds');
  const settleSeconds = positive(values['settle-seconds'], 'settle-seconds');
  const apps = positive(values.apps, 'apps');
  return {
    ...(apps ? { apps: Math.round(apps) } : {}),
    suites: positionals.length === 0 ? [...SUITES] : SUITES.filter((s) => positionals.includes(s)),
    ...(values.json ? { json: values.json } : {}),
    ...(runs ? { runs: Math.round(runs) } : {}),
    ...(seconds ? { seconds } : {}),
    ...(values.load ? { load: values.load as LoadGenerator } : {}),
    ...(sentryWorkers ? { sentryWorkers: Math.round(sentryWorkers) } : {}),
    ...(settleSeconds ? { settleSeconds } : {}),
    target,
    stormClientsGiven: values['storm-clients'] !== undefined,
    storm: {
      clients: Math.round(positive(values['storm-clients'], 'storm-clients') ?? STORM_CLIENTS),
      processes: Math.round(positive(values['storm-processes'], 'storm-processes') ?? STORM_PROCESSES),
      transport,
    },
  };
}

function withOverrides(timing: TimingOptions, cli: { runs?: number; seconds?: number }): TimingOptions {
  return { ...timing, ...(cli.runs ? { runs: cli.runs } : {}), ...(cli.seconds ? { runMs: cli.seconds * 1000 } : {}) };
}

/** The machine is shared: say so when other work was competing for the CPUs as the run began. */
function loadWarning(): string {
  const load = os.loadavg()[0] ?? 0;
  const cores = os.cpus().length;
  const text = `\nload average at start ${load.toFixed(1)} on ${cores} cores`;
  return load > cores * 0.75 ? `${text}: other processes compete for the CPUs, wall-clock figures are depressed (the ratios and CPU µs less so)` : text;
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const started = performance.now();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const header = `Warden benchmarks — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString()}`;
  const reports: string[] = [header + loadWarning()];
  const results: { issue?: IssueMeasurement[]; grpc?: GrpcSuiteResult[]; grpcDapr?: unknown } = {};

  if (cli.suites.includes('issue')) {
    const timing = withOverrides(ISSUE_TIMING, cli);
    log('issue: generating CSR pools and measuring…');
    results.issue = await runIssueSuite(timing, log);
    reports.push(formatIssueReport(results.issue, timing));
  }
  if (cli.suites.includes('grpc') && cli.target === 'dapr') {
    const { DAPR_STORM_CLIENTS, runGrpcDaprComparison, formatDaprComparison } = await import('./grpc-dapr.js');
    const stormClients = cli.stormClientsGiven ? cli.storm.clients : DAPR_STORM_CLIENTS;
    const comparison = await runGrpcDaprComparison({ timing: withOverrides(GRPC_TIMING, cli), stormClients, ...(cli.load ? { load: cli.load } : {}), log });
    results.grpcDapr = comparison;
    reports.push(formatDaprComparison(comparison));
  } else if (cli.suites.includes('grpc')) {
    const timing = withOverrides(GRPC_TIMING, cli);
    // One process (the default) and one per core: the storm and throughput trade off differently.
    const configurations = cli.sentryWorkers !== undefined ? [cli.sentryWorkers] : [...new Set([1, os.availableParallelism()])];
    results.grpc = [];
    for (const sentryWorkers of configurations) {
      log(`grpc: starting warden sentry (${sentryWorkers} worker${sentryWorkers === 1 ? '' : 's'}) and load processes…`);
      const result = await runGrpcSuite({ timing, issueResults: results.issue, storm: cli.storm, load: cli.load, sentryWorkers, log,
        ...(cli.settleSeconds ? { settleMs: cli.settleSeconds * 1000 } : {}) });
      results.grpc.push(result);
      reports.push(formatGrpcReport(result));
    }
  }

  if (cli.suites.includes('kube-renew')) {
    // renew-certificate -k --restart --restart-apps against the Kubernetes API test server (bench/kube-renew.ts).
    const { runKubeRenewBench, formatKubeRenewReport } = await import('./kube-renew.js');
    reports.push(formatKubeRenewReport(await runKubeRenewBench({ log })));
  }
  if (cli.suites.includes('kube-rotate')) {
    // rotate -k through all phases against the Kubernetes API test server (bench/kube-rotate.ts).
    const { runKubeRotateBench, formatKubeRotateReport } = await import('./kube-rotate.js');
    reports.push(formatKubeRotateReport(await runKubeRotateBench({ log })));
  }
  if (cli.suites.includes('auto-renew')) {
    // warden sentry --auto-renew renewing a due CA with N apps against the Kubernetes API test server (bench/auto-renew.ts).
    const { runAutoRenewBench, formatAutoRenewReport } = await import('./auto-renew.js');
    reports.push(formatAutoRenewReport(await runAutoRenewBench({ sizes: [cli.apps ?? 100], log })));
  }
  if (cli.suites.includes('jwt')) {
    // SignCertificate with and without --jwt-enabled, in the same run (bench/jwt.ts).
    const { runJwtSuite, formatJwtReport, runJwtGrpc, formatJwtGrpcReport, jwtGrpcUnavailable, JWT_GRPC_ALGORITHMS } = await import('./jwt.js');
    const timing = withOverrides(ISSUE_TIMING, cli);
    const jwt = await runJwtSuite(timing, log);
    reports.push(formatJwtReport(jwt, timing));
    const grpcTiming = withOverrides(GRPC_TIMING, cli);
    for (const algorithm of JWT_GRPC_ALGORITHMS) reports.push(formatJwtGrpcReport(await runJwtGrpc(grpcTiming, log, 'warden', algorithm), grpcTiming));
    // What --jwt-enabled costs Dapr's own sentry, when DAPR_SENTRY names it (skipped, and said so, otherwise).
    // A failure there is reported, not fatal: the reference must not cost the figures measured above.
    const dapr = await runJwtGrpc(grpcTiming, log, 'dapr').catch((error: unknown) =>
      jwtGrpcUnavailable('dapr', 'RS256', `failed: ${error instanceof Error ? error.message : String(error)}`));
    reports.push(formatJwtGrpcReport(dapr, grpcTiming));
  }
  if (cli.suites.includes('trust-convergence')) {
    // The trust gate's per-pod read against listing the same pods (bench/trust-convergence.ts).
    const { runTrustConvergenceBench, formatTrustConvergenceReport } = await import('./trust-convergence.js');
    reports.push(formatTrustConvergenceReport(await runTrustConvergenceBench({ log })));
  }
  if (cli.suites.includes('pem')) {
    // PEM decoding of crafted input against benign input of the same size (bench/pem.ts).
    const { runPemSuite, formatPemReport } = await import('./pem.js');
    const pem = runPemSuite(log);
    reports.push(formatPemReport(pem));
    if (!pem.pass) process.exitCode = 1;
  }
  if (cli.suites.includes('fleet')) {
    // warden fleet / monitor against 50 Kubernetes API test servers, one hanging (bench/fleet.ts).
    const { runFleetBench, formatFleetReport } = await import('./fleet.js');
    reports.push(formatFleetReport(await runFleetBench({ log })));
  }
  reports.push(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(`\n${reports.join('\n\n')}`);
  if (cli.json) writeFileSync(cli.json, `${JSON.stringify({ node: process.version, cpus: os.cpus().length, date: new Date().toISOString(), ...results }, null, 2)}\n`);
}

/**
 * A last-resort limit that works even when the main thread is stuck (not just busy): a worker
 * thread kills the whole process. On Node 20 a GC at the wrong moment can deadlock the main thread
 * inside node:crypto (see csr-pool.ts); the children then exit by themselves (orphan guard).
 */
function startHardLimit(ms: number): void {
  const source = `
    const { writeSync } = require('node:fs');
    setTimeout(() => {
      writeSync(2, 'bench: still running after ${ms / 1000} s, killing it (main thread stuck?)\\n');
      process.kill(process.pid, 'SIGKILL');
    }, ${ms});`;
  new Worker(source, { eval: true }).unref();
}

startHardLimit(10 * 60_000);
try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  await killAllChildren();
}
