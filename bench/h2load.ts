/**
 * h2load (nghttp2's HTTP/2 load generator, Debian package `nghttp2-client`) as the load process of
 * the `grpc` suite: it speaks TLS + HTTP/2 in C, so on a 2-core machine the load generator no longer
 * takes most of a core from the server (the node:http2 storm clients spent 6-8 s of CPU on 2,000
 * connections, h2load about 2 s).
 *
 * Every request is a real SignCertificate call: the gRPC-framed protobuf request in a file, POSTed
 * with `content-type: application/grpc` and `te: trailers`. h2load cannot read gRPC trailers, so
 * the caller checks the outcome on the server: the sentry's own success/failure counters must
 * account for every request (grpc.ts), and one call is verified in full beforehand.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadCaServiceDefinition, SIGN_CERTIFICATE_PATH, type SignCertificateRequestMessage } from '../src/wire/sentry-proto.js';
import { readCpuSeconds } from './proc.js';
import { sleep } from './measure.js';

/** The h2load binary when it is installed and runs, else undefined. */
export function findH2load(): string | undefined {
  const probe = spawnSync('h2load', ['--version'], { encoding: 'utf8', timeout: 5000 });
  return probe.status === 0 && /nghttp2/.test(probe.stdout) ? 'h2load' : undefined;
}

/** Writes the request as a gRPC length-prefixed message (uncompressed), as h2load's `--data` file. */
export function writeRequestBody(file: string, message: SignCertificateRequestMessage): void {
  const body = loadCaServiceDefinition()['SignCertificate']!.requestSerialize(message);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  writeFileSync(file, Buffer.concat([prefix, body]));
}

export interface H2loadRun {
  /** Requests h2load counted in its measurement (after any warm-up). */
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  /** Responses with an HTTP 2xx status (gRPC errors are 200 too: see the module comment). */
  status2xx: number;
  /** h2load's own "finished in" time. */
  elapsedMs: number;
  /** Per request: latency (ms) and end time (epoch ms), from `--log-file`. */
  latenciesMs: number[];
  endsEpochMs: number[];
  /** When h2load was started (epoch ms), and its CPU seconds (sampled until exit). */
  startEpochMs: number;
  cpuSeconds: number;
  /** Response bytes h2load received in DATA frames (a refused call carries none). */
  dataBytes: number;
}

export interface H2loadOptions {
  port: number;
  bodyFile: string;
  logFile: string;
  clients: number;
  /** Streams in flight per client (`-m`). */
  streamsPerClient: number;
  /** Either a request count (`-n`) or a measured duration after a warm-up (`-D`, `--warm-up-time`). */
  requests?: number;
  durationS?: number;
  warmupS?: number;
  timeoutMs: number;
  /** Called once the warm-up is over (duration mode) or at once (count mode). */
  onMeasuring?: () => void;
}

export async function runH2load(options: H2loadOptions): Promise<H2loadRun> {
  const args = [
    '-c', String(options.clients), '-m', String(options.streamsPerClient),
    ...(options.durationS !== undefined
      ? ['-D', String(options.durationS), '--warm-up-time', String(options.warmupS ?? 1)]
      : ['-n', String(options.requests ?? options.clients)]),
    '-d', options.bodyFile,
    '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-H', `grpc-timeout: ${options.timeoutMs}m`,
    `--log-file=${options.logFile}`,
    `https://127.0.0.1:${options.port}${SIGN_CERTIFICATE_PATH}`,
  ];
  // h2load appends to an existing log file: start from an empty one, or earlier runs' rows count too.
  rmSync(options.logFile, { force: true });
  const startEpochMs = performance.timeOrigin + performance.now();
  const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  let cpuSeconds = 0;
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    exited = true;
    resolve(code);
  }));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs + ((options.durationS ?? 0) + (options.warmupS ?? 0)) * 1000 + 10_000);
  if (options.durationS !== undefined) {
    setTimeout(() => options.onMeasuring?.(), (options.warmupS ?? 1) * 1000).unref();
  } else {
    options.onMeasuring?.();
  }
  // CPU of a child cannot be read after it is reaped: sample until it exits (error < one interval's worth).
  while (!exited) {
    const now = readCpuSeconds(child.pid ?? -1);
    if (Number.isFinite(now)) cpuSeconds = now;
    await Promise.race([sleep(20), exit]);
  }
  const code = await exit;
  clearTimeout(killer);
  if (code !== 0) throw new Error(`h2load exited with ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}`);
  return { ...parseSummary(output), ...parseLog(options.logFile), startEpochMs, cpuSeconds };
}

function parseSummary(output: string): Omit<H2loadRun, 'latenciesMs' | 'endsEpochMs' | 'startEpochMs' | 'cpuSeconds'> {
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(output);
  const codes = /status codes: (\d+) 2xx/.exec(output);
  const finished = /finished in ([\d.]+)(ms|s),/.exec(output);
  const traffic = /traffic: .*?, .*? headers .*?, [\d.]+[KMG]?B \((\d+)\) data/.exec(output);
  if (!requests || !codes || !finished) throw new Error(`cannot read h2load's summary:\n${output.slice(-800)}`);
  const n = (k: number): number => Number(requests[k]);
  return {
    done: n(3), succeeded: n(4), failed: n(5), errored: n(6), timeout: n(7), status2xx: Number(codes[1]),
    elapsedMs: Number(finished[1]) * (finished[2] === 's' ? 1000 : 1),
    dataBytes: traffic ? Number(traffic[1]) : Number.NaN,
  };
}

/** `--log-file` rows: start (µs since epoch) TAB HTTP status TAB duration (µs). */
function parseLog(file: string): { latenciesMs: number[]; endsEpochMs: number[] } {
  const latenciesMs: number[] = [];
  const endsEpochMs: number[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [start, , duration] = line.split('\t');
    if (start === undefined || duration === undefined) continue;
    latenciesMs.push(Number(duration) / 1000);
    endsEpochMs.push((Number(start) + Number(duration)) / 1000);
  }
  return { latenciesMs, endsEpochMs };
}
