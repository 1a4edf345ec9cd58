// Loaded with `node --import` into a benchmark child (the sentry): the child exits by itself when
// the benchmark that started it is gone, so a killed `npm run bench` never leaves a server behind.
// process.ppid is fixed at start-up in Node 20, hence /proc.
import { readFileSync } from 'node:fs';

function currentParent() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return process.ppid;
  }
}

const parent = currentParent();
setInterval(() => {
  if (currentParent() !== parent) process.exit(2);
}, 500).unref();
