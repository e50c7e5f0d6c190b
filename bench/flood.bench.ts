/**
 * `npm run bench -- flood`: a member's GetNodeInfo latency against the node's API server (mutual TLS on loopback)
 * while certificate-less TLS connections flood it past its limits (issue 11), compared with the same calls before
 * the flood; and how many of the flood's connections the server held and refused.
 */
import { readFile } from 'node:fs/promises';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { orgPaths } from '../network/pki/index.ts';
import { consortiumRoles, lianxinV1, startApiServer, type ApiServer } from '../node/api/index.ts';
import { createLogger } from '../node/logging/index.ts';
import { createTestConsortium } from '../test/support/test-consortium.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { percentileOf } from './percentile.ts';

const MSP = 'HangzhouCreditMSP';
const FLOOD = 3_000;
const CALLS = 300;
const LIMITS = {
  maxConnections: 2_000,
  maxConnectionsPerAddress: 10_000,
  maxAnonymousConnections: 1_000,
  anonymousLifetimeMs: 600_000,
};

function anonymousConnection(api: ApiServer): Promise<tls.TLSSocket | undefined> {
  const port = Number(api.address.slice(api.address.lastIndexOf(':') + 1));
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    socket.once('secureConnect', () => {
      socket.resume();
      resolve(socket);
    });
    socket.once('error', () => {
      resolve(undefined);
    });
  });
}

async function run(context: BenchmarkContext): Promise<readonly Figure[]> {
  const { signal } = context;
  const tc = await createTestConsortium();
  const local = orgPaths(tc.cryptoDir, MSP);
  const node = tc.consortium.organizations.find((o) => o.mspId === MSP)?.nodes[0];
  if (!node) throw new Error('the demo consortium lost its Hangzhou node');
  const bundle = await Promise.all(
    tc.consortium.organizations.map((o) => readFile(orgPaths(tc.cryptoDir, o.mspId).tlsca.cert)),
  );
  const api = await startApiServer({
    listen: '127.0.0.1:0',
    tls: {
      certChain: await readFile(local.node(node).tls.cert),
      privateKey: await readFile(local.node(node).tls.key),
      clientCaBundle: Buffer.concat(bundle),
    },
    mspId: MSP,
    resolveRole: consortiumRoles(tc.consortium),
    services: {
      NodeInfoService: {
        GetNodeInfo: (_request, { caller }) =>
          Promise.resolve({ mspId: caller.mspId, role: caller.role, logOrigin: '', version: '' }),
      },
    },
    logger: createLogger({ level: 'silent' }),
    limits: LIMITS,
  });
  const user = orgPaths(tc.cryptoDir, 'RegulatorMSP').user('User1').tls;
  const client = new (lianxinV1().NodeInfoService)(
    api.address,
    grpc.credentials.createSsl(await readFile(local.tlsca.cert), await readFile(user.key), await readFile(user.cert)),
    { 'grpc.ssl_target_name_override': node.host },
  );
  const call = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      client.GetNodeInfo({}, { deadline: Date.now() + 5_000 }, (err) => {
        if (err) reject(err);
        else resolve(performance.now() - started);
      });
    });
  const sockets: tls.TLSSocket[] = [];
  try {
    await call();
    const before: number[] = [];
    for (let i = 0; i < CALLS && !signal.aborted; i++) before.push(await call());
    context.log(`flooding with ${String(FLOOD)} certificate-less connections`);
    const during: number[] = [];
    // The flood and the member's calls at once: 100 handshakes at a time, a call between batches.
    for (let i = 0; i < FLOOD && !signal.aborted; i += 100) {
      const batch = Promise.all(Array.from({ length: 100 }, () => anonymousConnection(api)));
      during.push(await call());
      for (const socket of await batch) if (socket) sockets.push(socket);
    }
    for (let i = 0; i < CALLS && !signal.aborted; i++) during.push(await call());
    const stats = api.connectionStats();
    return [
      { label: 'member p50 before the flood', value: percentileOf(before, 50), unit: 'ms' },
      { label: 'member p99 before the flood', value: percentileOf(before, 99), unit: 'ms' },
      { label: 'member p50 during the flood', value: percentileOf(during, 50), unit: 'ms' },
      { label: 'member p99 during the flood', value: percentileOf(during, 99), unit: 'ms', note: 'issue 11: < 50 ms' },
      {
        label: 'connections held',
        value: stats.open,
        unit: 'conn',
        note: `${String(stats.anonymous)} certificate-less (limit ${String(LIMITS.maxAnonymousConnections)})`,
      },
      { label: 'connections refused', value: stats.refused, unit: 'conn', note: `of ${String(FLOOD)} opened` },
    ];
  } finally {
    for (const socket of sockets) socket.destroy();
    client.close();
    await api.shutdown({ graceMs: 100 });
    await tc.cleanup();
  }
}

const benchmark: Benchmark = {
  name: 'flood',
  description: "a member's call latency while certificate-less connections flood the API server past its limits",
  budgetMs: 120_000,
  run,
};
export default benchmark;
