/**
 * `node --import tsx bench/logs.ts [seconds]`: log lines per second to /dev/null, Warden's pino JSON
 * (the floor, measured in the same run) against Dapr's text and JSON lines (pino + the Dapr
 * destination, src/sentry/dapr-log-format.ts). Each line carries the fields of a typical sign log.
 */
import { performance } from 'node:perf_hooks';
import { createSentryLogger, type SentryLogSettings } from '../src/sentry/logger.js';

const seconds = Number(process.argv[2] ?? 1);

function linesPerSecond(settings: SentryLogSettings): number {
  const logger = createSentryLogger({ level: 'info', file: '/dev/null', identity: { instance: 'bench', ver: '0.0.0' }, ...settings });
  const fields = { scope: 'dapr.sentry.server', id: 'app-1', namespace: 'default', reason: 'sign', cause: 'issuer expired' };
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) logger.info(fields, 'Error signing identity: the issuer certificate has expired');
    n += 1000;
  }
  return n / seconds;
}

linesPerSecond({ format: 'warden' }); // warm-up
const floor = linesPerSecond({ format: 'warden' });
const text = linesPerSecond({ format: 'dapr' });
const json = linesPerSecond({ format: 'dapr', json: true });
const fmt = (v: number): string => `${Math.round(v).toLocaleString('en-US')} lines/s`;
console.log(`warden pino JSON (floor): ${fmt(floor)}`);
console.log(`dapr text:                ${fmt(text)}  (${(text / floor).toFixed(2)} x floor)`);
console.log(`dapr JSON:                ${fmt(json)}  (${(json / floor).toFixed(2)} x floor)`);
