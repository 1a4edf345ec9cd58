/**
 * Stress check for a Node 20 deadlock (plain JS so it runs on any `node` without tsx):
 * `node bench/ec-keygen-deadlock.mjs [seconds=20]`. It generates P-256 keys with
 * generateKeyPairSync('ec') and reads `asymmetricKeyDetails` of each, as keyAlgorithmOf does, while
 * garbage piles up. On Node 20 a GC finalizing the key-generation job while GetEcKeyDetail holds the
 * key's mutex deadlocks the main thread within seconds. A watchdog thread sees the main thread stop
 * counting and kills the process (SIGKILL, exit 137, "DEADLOCK" on stderr); exit 0 = none in the given time.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const seconds = Number(process.argv[2] ?? 20);
const progress = new Int32Array(new SharedArrayBuffer(4));
const watchdog = new Worker(`
  const { workerData } = require('node:worker_threads');
  const { writeSync } = require('node:fs');
  const progress = workerData;
  let last = -1, still = 0;
  setInterval(() => {
    const now = Atomics.load(progress, 0);
    still = now === last ? still + 1 : 0;
    last = now;
    if (still >= 5) {
      writeSync(2, 'DEADLOCK: ' + process.version + ': main thread stuck for 5 s after ' + now + ' keys\\n');
      process.kill(process.pid, 'SIGKILL');
    }
  }, 1000);`, { eval: true, workerData: progress });
watchdog.unref();

const end = performance.now() + seconds * 1000;
let keys = 0;
let garbage = [];
while (performance.now() < end) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('unexpected curve');
  if (publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('unexpected curve');
  garbage.push(new Array(64).fill(keys));
  if (garbage.length > 2000) garbage = [];
  keys += 1;
  Atomics.store(progress, 0, keys);
}
console.log(`no deadlock: ${process.version}: ${keys} keys in ${seconds} s`);
process.exit(0);
