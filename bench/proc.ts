/** Reading another process's CPU time and memory from /proc (Linux only, as the benchmark machine). */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux the project runs on. */
const CLOCK_TICKS_PER_S = 100;

/** User + system CPU seconds used so far by `pid`; NaN when it cannot be read. */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes comm: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/** VmRSS and VmHWM (peak RSS) of `pid` in KiB; NaN for what cannot be read. */
export function readMemoryKiB(pid: number): { rss: number; peak: number } {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // fall through: NaN
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** Resets VmHWM to the current RSS (write "5" to clear_refs); false when the kernel refuses. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * TcpExt ListenOverflows of this network namespace: connections dropped because a listen queue was
 * full (the client's SYN is retried after 1 s, 3 s, 7 s, …). NaN when it cannot be read.
 */
export function readListenOverflows(): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0]?.split(' ') ?? [];
    const values = lines[1]?.split(' ') ?? [];
    const at = names.indexOf('ListenOverflows');
    return at > 0 ? Number(values[at]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** `pid` and its direct children (a sentry primary and its workers). */
export function processTree(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return [pid, ...children];
}

/** CPU seconds of `pid` and its children (only the living ones count). */
export function readTreeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + (readCpuSeconds(p) || 0), 0);
}

/** RSS and peak RSS summed over `pid` and its children (the sum of peaks bounds the peak of the sum). */
export function readTreeMemoryKiB(pid: number): { rss: number; peak: number } {
  return processTree(pid).map(readMemoryKiB).reduce((a, b) => ({ rss: a.rss + b.rss, peak: a.peak + b.peak }), { rss: 0, peak: 0 });
}

/** Resets VmHWM of `pid` and its children; false when any refused. */
export function resetTreePeakRss(pid: number): boolean {
  return processTree(pid).map(resetPeakRss).every(Boolean);
}
