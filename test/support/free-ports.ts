/**
 * Free TCP ports on 127.0.0.1, for programs that cannot be given port 0 and report what they got
 * (daprd, Dapr's sentry, a sentry started as a separate process): held together so they differ,
 * then released just before use. Shared by test/interop and bench/.
 */
import { createServer, type AddressInfo } from 'node:net';

export async function freePorts(count: 2): Promise<[number, number]>;
export async function freePorts(count: 4): Promise<[number, number, number, number]>;
export async function freePorts(count: number): Promise<number[]>;
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * Runs `start` (which picks its ports with freePorts) again, up to `attempts` times, when it fails
 * because a port was taken in between: another test file running at the same time may bind a port
 * after it was released and before the child process listens on it. Any other failure is thrown.
 */
export async function retryOnPortTaken<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= attempts || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}
