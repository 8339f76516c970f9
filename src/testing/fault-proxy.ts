/**
 * A TCP proxy (node:net) in front of a server, told to misbehave: cut connections after some
 * response bytes, stall them, or refuse connections altogether. Tests put it between a remote
 * and s3rver to play a network that drops transfers mid-body, and a server that is down.
 *
 * Faults count the server→client bytes forwarded on each connection since the fault was
 * armed, connections kept alive from before included (HTTP clients reuse them), and are used
 * up in order: `cutAfter(1000, 2)` cuts the first two connections that pass 1000 bytes.
 */
import net from 'node:net';

export interface FaultProxy {
  /** 'http://127.0.0.1:<port>' */
  endpoint: string;
  port: number;
  /** Cut (TCP reset) the next `times` connections once each has forwarded `afterBytes` response bytes from now. */
  cutAfter(afterBytes: number, times?: number): void;
  /** Cut (TCP reset) the next `times` connections once each has forwarded `afterBytes` request bytes from now (an upload cut short). */
  cutUploadAfter(afterBytes: number, times?: number): void;
  /** Stop forwarding on the next `times` connections after `afterBytes` response bytes, leaving them open and silent. */
  stallAfter(afterBytes: number, times?: number): void;
  /** Disarm any fault not used up yet. */
  heal(): void;
  /** Close the listening port (connections are refused) and drop open connections. */
  refuse(): Promise<void>;
  /** Listen again on the same port after `refuse`. */
  accept(): Promise<void>;
  /**
   * HTTP requests seen so far, as 'METHOD /path?query' (read from the start of each request
   * chunk; HTTP/1.1 clients send one request at a time on a connection).
   */
  readonly requests: string[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Faults applied so far (cuts and stalls). */
  readonly faults: number;
  stop(): Promise<void>;
}

interface Fault {
  kind: 'cut' | 'stall';
  /** 'down': count server→client bytes; 'up': client→server. */
  direction: 'down' | 'up';
  afterBytes: number;
  times: number;
  generation: number;
}

interface Conn {
  client: net.Socket;
  upstream: net.Socket;
  generation: number;
  forwarded: number;
  stalled: boolean;
}

/** A port on 127.0.0.1 that nothing listens on (connections to it are refused). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export async function startFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  const open = new Set<Conn>();
  let fault: Fault | undefined;
  let generation = 0;
  let connections = 0;
  let faults = 0;
  const requests: string[] = [];

  const onConnection = (client: net.Socket): void => {
    connections++;
    const upstream = net.connect(targetPort, targetHost);
    const conn: Conn = { client, upstream, generation, forwarded: 0, stalled: false };
    open.add(conn);
    const drop = (): void => {
      open.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    const forward = (direction: Fault['direction'], chunk: Buffer): void => {
      const to = direction === 'down' ? client : upstream;
      if (conn.stalled) return;
      const f = fault?.direction === direction ? fault : undefined;
      if (f && conn.generation !== f.generation) {
        // Armed after this connection opened: count from now.
        conn.generation = f.generation;
        conn.forwarded = 0;
      }
      if (!f || conn.forwarded + chunk.length <= f.afterBytes) {
        if (f) conn.forwarded += chunk.length;
        to.write(chunk);
        return;
      }
      const head = chunk.subarray(0, Math.max(0, f.afterBytes - conn.forwarded));
      faults++;
      if (--f.times <= 0) fault = undefined;
      if (f.kind === 'stall') {
        conn.stalled = true;
        if (head.length) to.write(head);
        return;
      }
      open.delete(conn);
      const cut = (): void => {
        upstream.destroy();
        client.resetAndDestroy();
      };
      if (head.length) to.write(head, cut);
      else cut();
    };
    client.on('data', (chunk: Buffer) => {
      const line = /^(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP\/1\.[01]\r\n/.exec(chunk.subarray(0, 2048).toString('latin1'));
      if (line) requests.push(`${line[1]} ${line[2]}`);
      forward('up', chunk);
    });
    upstream.on('data', (chunk: Buffer) => forward('down', chunk));
  };

  let server = net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  const dropAll = (): void => {
    for (const c of open) {
      c.client.destroy();
      c.upstream.destroy();
    }
    open.clear();
  };
  const closeServer = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      dropAll();
    });
  const arm = (kind: Fault['kind'], direction: Fault['direction'], afterBytes: number, times: number): void => {
    fault = { kind, direction, afterBytes, times, generation: ++generation };
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    cutAfter: (afterBytes, times = 1) => arm('cut', 'down', afterBytes, times),
    cutUploadAfter: (afterBytes, times = 1) => arm('cut', 'up', afterBytes, times),
    stallAfter: (afterBytes, times = 1) => arm('stall', 'down', afterBytes, times),
    heal: () => {
      fault = undefined;
    },
    refuse: closeServer,
    async accept() {
      if (server.listening) return;
      server = net.createServer(onConnection);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
    },
    requests,
    get connections() {
      return connections;
    },
    get faults() {
      return faults;
    },
    stop: closeServer,
  };
}
