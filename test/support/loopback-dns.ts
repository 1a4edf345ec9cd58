/**
 * A DNS server on 127.0.0.1 (UDP, ephemeral port) answering A queries for the names it is given
 * and NXDOMAIN for the rest (RFC 1035 §4.1), so the Kubernetes cluster-domain lookup runs real
 * queries without leaving the machine. `resolvConf(search)` writes a resolv.conf pointing at it.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoopbackDns {
  port: number;
  /** Fully qualified names asked, in order (lower case, no trailing dot). */
  queries: string[];
  /** Writes a resolv.conf with this search list and this server; returns its path. */
  resolvConf(search: readonly string[]): string;
  close(): Promise<void>;
}

function questionName(msg: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i]!;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += len + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 5 }; // zero byte + QTYPE + QCLASS
}

export async function startLoopbackDns(answers: Record<string, string>): Promise<LoopbackDns> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'warden-dns-'));
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 17) return;
    const { name, end } = questionName(msg);
    const qtype = msg.readUInt16BE(end - 4);
    queries.push(name);
    const address = answers[name];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    const found = address !== undefined && qtype === 1;
    // QR, RD, RA; rcode 0 (found or NODATA for other types) or 3 (NXDOMAIN).
    header.writeUInt16BE(0x8180 | (address === undefined ? 3 : 0), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(found ? 1 : 0, 6);
    const question = msg.subarray(12, end);
    const answer = found
      ? Buffer.concat([Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]), Buffer.from(address.split('.').map(Number))])
      : Buffer.alloc(0);
    socket.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  let n = 0;
  return {
    port, queries,
    resolvConf: (search) => {
      const path = join(dir, `resolv-${n++}.conf`);
      writeFileSync(path, `# a pod's resolv.conf\nsearch ${search.join(' ')}\nnameserver 127.0.0.1:${port}\noptions ndots:5\n`);
      return path;
    },
    close: async () => {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
