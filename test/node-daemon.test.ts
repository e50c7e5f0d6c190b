/**
 * The node as its own process (issue 9, "The node process"): each node started by `node/daemon/main.ts` from its
 * node.yaml, against the embedded ledger in another process, over real TLS. One ledger process serves every case.
 *
 * - kill -9 of one node mid-ingest while another keeps serving; restarted, it has every acknowledged record and
 *   anchors them;
 * - the ledger stopped: gRPC health and /healthz say NOT_SERVING naming the ledger, ingest is still acknowledged;
 *   the ledger back: SERVING again and the outbox anchored;
 * - a busy port, a corrupt store, an unfinished restore, a missing key: one stderr line, exit 1, nothing left
 *   listening;
 * - SIGTERM: exit 0 within the grace period.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { basename, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { LedgerConnection } from '../network/client/index.ts';
import { BUILD_STAMP, classicLevelDir, HARDWARE_CRC_FLAGS } from '../network/leveldb/binding-cpu.ts';
import { orgPaths } from '../network/pki/index.ts';
import { lianxinV1 } from '../node/api/index.ts';
import type { IngestAck__Output } from '../node/api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch } from '../node/api/generated/lianxin/v1/RecordBatch.ts';
import type { RecordServiceClient } from '../node/api/generated/lianxin/v1/RecordService.ts';
import type { RecordStatus__Output } from '../node/api/generated/lianxin/v1/RecordStatus.ts';
import {
  consortiumLedger,
  registerNode,
  registerOrganizations,
  writeLocalNodeConfig,
} from '../node/bootstrap/index.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import { CHAINCODE_NAME } from './support/chaincode-network.ts';
import { duplicateKeys } from './support/duplicate-keys.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { unary } from './support/grpc-unary.ts';
import { spawnListening, type ListeningChild } from './support/listening-child.ts';
import { canHideCpuFlags, loadsStampedLevelDbBuild, runWithCpuFlagsHidden } from './support/hidden-cpu-flags.ts';
import { startDaemon, type DaemonProcess } from './support/node-daemon-process.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { freeAddress } from './support/free-port.ts';

const LEDGER_CHILD = new URL('./support/ledger-child.ts', import.meta.url).pathname;
const DAEMON_MAIN = new URL('../node/daemon/main.ts', import.meta.url).pathname;
const AGENCY_A = 'HangzhouCreditMSP';
const AGENCY_B = 'HefeiCreditMSP';
const BATCH = 100;
const GRACE_SECONDS = 5;
/** Fast enough for a test: a checkpoint a second, retries from 50 ms, the ledger asked every second. */
const SETTINGS = {
  log: { level: 'info' },
  checkpoint: { intervalSeconds: 1, leaves: BATCH },
  ingest: { maxBatchRecords: BATCH },
  outbox: { retryInitialMs: 50, retryMaxMs: 500 },
  health: { ledgerProbeSeconds: 1 },
  shutdown: { graceSeconds: GRACE_SECONDS },
};

const v1 = lianxinV1();
let members: TestConsortium;
let ledger: ListeningChild;
let ledgerPort: string;
const connections: LedgerConnection[] = [];
const daemons: DaemonProcess[] = [];
const clients: grpc.Client[] = [];

const startLedger = async (port = '0') => {
  ledger = await spawnListening(LEDGER_CHILD, [members.cryptoDir, join(members.dir, 'ledger'), 'lianxin', port]);
  ledgerPort = ledger.address.slice(ledger.address.lastIndexOf(':') + 1);
};

const asAdmin = async (mspId: string) => {
  const connection = await members.connect(ledger.address, mspId, 'Admin');
  connections.push(connection);
  return new LianxinChain(connection.gateway.getNetwork(members.consortium.channel), CHAINCODE_NAME);
};

/** Writes node0's node.yaml for `mspId`; registers the node and its keys unless it is not meant to start. */
async function nodeConfig(
  mspId: string,
  listen: { grpc?: string; operations?: string } = {},
  { dataRoot = members.dir, register = true }: { dataRoot?: string; register?: boolean } = {},
): Promise<string> {
  const { consortium, cryptoDir } = members;
  const org = consortium.organizations.find((o) => o.mspId === mspId);
  const node = org?.nodes[0];
  if (!org || !node) throw new Error(`${mspId} has no node`);
  const local = await writeLocalNodeConfig({
    consortium,
    org,
    node,
    cryptoDir,
    dataRoot,
    ledger: consortiumLedger(consortium, cryptoDir, ledger.address, CHAINCODE_NAME),
    grpcListen: listen.grpc ?? '127.0.0.1:0',
    metricsListen: listen.operations ?? '127.0.0.1:0',
    // No fixed consortium p2p port shared between tests: these nodes exchange no reports.
    p2pListen: null,
    settings: SETTINGS,
  });
  if (register) await registerNode(asAdmin, { mspId, node, shard: '0', keys: local.keys });
  return local.configFile;
}

function daemon(configFile: string): DaemonProcess {
  const started = startDaemon(configFile);
  daemons.push(started);
  return started;
}

async function credentials(mspId: string): Promise<grpc.ChannelCredentials> {
  const tls = orgPaths(members.cryptoDir, mspId).user('User1').tls;
  const cas = await Promise.all(
    members.consortium.organizations.map((o) => readFile(orgPaths(members.cryptoDir, o.mspId).tlsca.cert)),
  );
  return grpc.credentials.createSsl(Buffer.concat(cas), await readFile(tls.key), await readFile(tls.cert));
}

async function recordClient(address: string, mspId: string): Promise<RecordServiceClient> {
  const client = new v1.RecordService(address, await credentials(mspId));
  clients.push(client);
  return client;
}

const ingest = (client: RecordServiceClient, first: number, requestId: string) =>
  unary<RecordBatch, IngestAck__Output>((req, cb) => client.IngestBatch(req, { deadline: Date.now() + 10_000 }, cb), {
    requestId,
    records: Array.from({ length: BATCH }, (_, i) => ({
      subject: testUscc(first + i),
      kind: 'loan',
      version: 1,
      contentType: 'application/json',
      content: Buffer.from(JSON.stringify({ n: first + i })),
    })),
  });

const recordStatus = (client: RecordServiceClient, n: number) =>
  unary<{ subject: string; kind: string; version: number }, RecordStatus__Output>(
    (req, cb) => client.GetRecordStatus(req, cb),
    { subject: testUscc(n), kind: 'loan', version: 0 },
  );

const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

/** grpc.health.v1.Health/Check, encoded by hand (one string field out, one enum field back). */
async function health(address: string, service = ''): Promise<string> {
  const client = new grpc.Client(address, await credentials(AGENCY_B));
  try {
    const name = Buffer.from(service);
    const request = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
    const response = await new Promise<Buffer>((resolve, reject) => {
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        { deadline: Date.now() + 5_000 },
        (err, res) => {
          if (err) reject(err);
          else resolve(res ?? Buffer.alloc(0));
        },
      );
    });
    return SERVING_STATUS[response[0] === 0x08 ? (response[1] ?? 0) : 0] ?? 'UNKNOWN';
  } finally {
    client.close();
  }
}

async function healthz(operations: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${operations}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Whether nothing listens on `address` now: it can be bound. */
async function portFree(address: string): Promise<boolean> {
  const server = createServer();
  const colon = address.lastIndexOf(':');
  return new Promise((resolve) => {
    server.once('error', () => {
      resolve(false);
    });
    server.listen(Number(address.slice(colon + 1)), address.slice(0, colon), () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** A loopback address held by this test process, or freed again for a node to take. */
async function loopbackPort(): Promise<{ address: string; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('no TCP address');
  return { address: `127.0.0.1:${String(bound.port)}`, server };
}

let nodeB: DaemonProcess;
let nodeBAddresses: { grpc: string; operations: string };
let configA: string;

beforeAll(async () => {
  members = await createTestConsortium();
  await startLedger();
  await registerOrganizations(asAdmin, members.consortium.organizations);
  configA = await nodeConfig(AGENCY_A);
  nodeB = daemon(await nodeConfig(AGENCY_B));
  nodeBAddresses = await nodeB.serving;
});

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  for (const connection of connections) connection.close();
  await ledger.stop();
  await members.cleanup();
});

describe('a node in its own process', () => {
  it('survives kill -9 mid-ingest with every acknowledged record, while another node keeps serving', async () => {
    const first = daemon(configA);
    const a = await recordClient((await first.serving).grpc, AGENCY_A);
    const acked: { batch: number; ack: IngestAck__Output }[] = [];
    // Batches go in one after another; the kill lands while one is in flight.
    const ingesting = (async () => {
      for (let batch = 0; ; batch++) {
        try {
          acked.push({ batch, ack: await ingest(a, batch * BATCH, `a-${String(batch)}`) });
        } catch {
          return;
        }
      }
    })();
    await eventually(() => Promise.resolve(acked.length >= 3 ? true : undefined), {
      what: 'three acknowledged batches',
    });
    expect(await first.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    await ingesting;
    for (const { ack } of acked) expect(ack.results.every((r) => r.outcome === 'OUTCOME_ACCEPTED')).toBe(true);

    // The other node serves meanwhile.
    const b = await recordClient(nodeBAddresses.grpc, AGENCY_B);
    expect((await ingest(b, 900_000, 'b-while-a-down')).results).toHaveLength(BATCH);
    expect(await health(nodeBAddresses.grpc)).toBe('SERVING');

    const second = daemon(configA);
    const again = await recordClient((await second.serving).grpc, AGENCY_A);
    const lastAcked = (acked.at(-1)?.batch ?? 0) * BATCH + BATCH - 1;
    for (let n = 0; n <= lastAcked; n++) {
      const status = await recordStatus(again, n);
      expect(status.state, `record ${String(n)}`).not.toBe('EVIDENCE_STATE_UNSPECIFIED');
    }
    // And anchoring resumes from the outbox the kill left behind.
    await eventually(
      async () => ((await recordStatus(again, lastAcked)).state === 'EVIDENCE_STATE_ANCHORED' ? true : undefined),
      { what: 'the last acknowledged record anchored after the restart' },
    );
    // SIGINT (Ctrl-C) stops it as gracefully as SIGTERM.
    expect(await second.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it("starts from its own identity, keys and the TLS CAs alone, without the consortium's crypto folder", async () => {
    // What an institution installs on its host: its node's MSP folder, its TLS certificate and key, the consortium's
    // TLS CAs and the ledger's; its node keys and data are its own already.
    const doc = parse(await readFile(configA, 'utf8')) as {
      tls: { cert: string; key: string; clientCaBundle: string };
      identity: { mspDir: string };
      ledger: { tlsCa: string };
    };
    const home = join(members.dir, 'installed', AGENCY_A);
    await mkdir(home, { recursive: true });
    const copy = async (from: string) => {
      const to = join(home, basename(from));
      await cp(from, to, { recursive: true });
      return basename(from);
    };
    doc.tls = {
      cert: await copy(doc.tls.cert),
      key: await copy(doc.tls.key),
      clientCaBundle: await copy(doc.tls.clientCaBundle),
    };
    doc.identity.mspDir = await copy(doc.identity.mspDir);
    doc.ledger.tlsCa = await copy(doc.ledger.tlsCa);
    const installed = join(home, 'node.yaml');
    await writeFile(installed, stringify(doc));

    // The crypto folder out of reach while the node starts (every file the node reads, it reads at start).
    const away = `${members.cryptoDir}.away`;
    await rename(members.cryptoDir, away);
    let started: DaemonProcess;
    try {
      started = daemon(installed);
      await started.serving;
    } finally {
      await rename(away, members.cryptoDir);
    }
    const { grpc: address } = await started.serving;
    await eventually(async () => ((await health(address)) === 'SERVING' ? true : undefined));
    const a = await recordClient(address, AGENCY_A);
    await ingest(a, 940_000, 'a-installed');
    await eventually(
      async () => ((await recordStatus(a, 940_000)).state === 'EVIDENCE_STATE_ANCHORED' ? true : undefined),
      { what: 'a record anchored by the installed node' },
    );
    expect(await started.stop()).toEqual({ code: 0, signal: null });
  });

  it('reports NOT_SERVING naming the ledger while it is down, keeps acknowledging, and recovers when it is back', async () => {
    const { grpc: address, operations } = nodeBAddresses;
    await eventually(async () => ((await health(address)) === 'SERVING' ? true : undefined));
    expect((await healthz(operations)).status).toBe(200);

    await ledger.stop();
    await eventually(async () => ((await health(address)) === 'NOT_SERVING' ? true : undefined), {
      what: 'gRPC health NOT_SERVING',
    });
    // The services that need the chain say so; ingest does not need it.
    expect(await health(address, 'lianxin.v1.NotaryService')).toBe('NOT_SERVING');
    expect(await health(address, 'lianxin.v1.AttestationService')).toBe('NOT_SERVING');
    expect(await health(address, 'lianxin.v1.RecordService')).toBe('SERVING');
    const down = await healthz(operations);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      status: 'Service Unavailable',
      failed_checks: [{ component: 'ledger', reason: expect.stringMatching(/^unreachable: /) as unknown }],
    });

    const b = await recordClient(address, AGENCY_B);
    const ack = await ingest(b, 910_000, 'b-ledger-down');
    expect(ack.results.every((r) => r.outcome === 'OUTCOME_ACCEPTED')).toBe(true);

    // A node started while the ledger is down starts all the same, says NOT_SERVING, and takes its own
    // organisation's ingest without a registry to ask.
    const late = daemon(configA);
    const lateAddresses = await late.serving;
    expect(await health(lateAddresses.grpc)).toBe('NOT_SERVING');
    expect((await healthz(lateAddresses.operations)).status).toBe(503);
    const a = await recordClient(lateAddresses.grpc, AGENCY_A);
    const lateAck = await ingest(a, 930_000, 'a-ledger-down');
    expect(lateAck.results.every((r) => r.outcome === 'OUTCOME_ACCEPTED')).toBe(true);

    await startLedger(ledgerPort);
    await eventually(async () => ((await health(address)) === 'SERVING' ? true : undefined), {
      what: 'gRPC health SERVING again',
      timeoutMs: 20_000,
    });
    expect(await health(address, 'lianxin.v1.NotaryService')).toBe('SERVING');
    expect(await healthz(operations)).toMatchObject({ status: 200, body: { status: 'OK' } });
    await eventually(
      async () => ((await recordStatus(b, 910_000 + BATCH - 1)).state === 'EVIDENCE_STATE_ANCHORED' ? true : undefined),
      { what: 'the records acknowledged while the ledger was down anchored', timeoutMs: 20_000 },
    );
    await eventually(
      async () => ((await recordStatus(a, 930_000 + BATCH - 1)).state === 'EVIDENCE_STATE_ANCHORED' ? true : undefined),
      { what: "the late node's records anchored", timeoutMs: 20_000 },
    );
    await eventually(async () => ((await health(lateAddresses.grpc)) === 'SERVING' ? true : undefined), {
      what: 'the late node SERVING',
    });
    expect(await late.stop()).toEqual({ code: 0, signal: null });
    // Everything anchored: the outbox gauge says 0, not the depth it had at the last ingest.
    const metrics = await (await fetch(`http://${operations}/metrics`)).text();
    expect(metrics).toMatch(/^lianxin_outbox_depth\{msp_id="HefeiCreditMSP"\} 0$/m);
    // Its followers share one chaincode-event stream, reopened after the ledger came back.
    const streams = async (name: string) =>
      Number(
        new RegExp(`^${name}\\{msp_id="HefeiCreditMSP"\\} (\\d+)$`, 'm').exec(
          await (await fetch(`http://${operations}/metrics`)).text(),
        )?.[1],
      );
    await eventually(async () => ((await streams('lianxin_chain_event_streams')) === 1 ? true : undefined), {
      what: 'one chaincode-event stream',
    });
    expect(await streams('lianxin_chain_event_streams_opened')).toBeGreaterThanOrEqual(2);
  });

  it('refuses to start on a busy gRPC or operations port, a corrupt store, an unfinished restore or a missing key: one line, exit 1, nothing listening', async () => {
    const busy = await loopbackPort();
    try {
      const bankGrpc = await freeAddress();
      const nanjingGrpc = await freeAddress();
      // None of them gets as far as the chain: no registration.
      const unregistered = { register: false };
      const busyGrpc = daemon(await nodeConfig('ShanghaiBankMSP', { grpc: busy.address }, unregistered));
      const busyOperations = daemon(
        await nodeConfig('NanjingSupplyChainMSP', { grpc: nanjingGrpc, operations: busy.address }, unregistered),
      );

      const corruptConfig = await nodeConfig('RegulatorMSP', { grpc: bankGrpc }, unregistered);
      const storeDir = join(members.dir, 'nodes', 'RegulatorMSP', 'data', 'db');
      await mkdir(storeDir, { recursive: true });
      await writeFile(join(storeDir, 'CURRENT'), 'MANIFEST-000002\n');
      await writeFile(join(storeDir, 'MANIFEST-000002'), Buffer.alloc(512, 0xab));
      const corrupt = daemon(corruptConfig);

      // A second home for the bank's node, whose receipt key is then lost.
      const missingKey = await nodeConfig(
        'ShanghaiBankMSP',
        {},
        { ...unregistered, dataRoot: join(members.dir, 'elsewhere') },
      );
      const keyFile = join(members.dir, 'elsewhere', 'nodes', 'ShanghaiBankMSP', 'keys', 'receipt.key');
      await rm(keyFile);
      const noKey = daemon(missingKey);

      // A third home for the regulator's node, into which a restore was killed midway (lianxin node restore writes
      // db.restoring and renames it to db once whole): the node must not start on it, nor make an empty store.
      const restoringRoot = join(members.dir, 'restoring');
      const restoringConfig = await nodeConfig('RegulatorMSP', {}, { ...unregistered, dataRoot: restoringRoot });
      const restoringData = join(restoringRoot, 'nodes', 'RegulatorMSP', 'data');
      await mkdir(join(restoringData, 'db.restoring'), { recursive: true });
      const unfinished = daemon(restoringConfig);

      const exits = await Promise.all([busyGrpc, busyOperations, corrupt, noKey, unfinished].map((d) => d.exited));
      for (const exit of exits) expect(exit).toEqual({ code: 1, signal: null });

      const oneLine = (d: DaemonProcess) => {
        const lines = d.stderr().split('\n').filter(Boolean);
        expect(lines, d.stderr()).toHaveLength(1);
        return lines[0];
      };
      expect(oneLine(busyGrpc)).toBe(
        `lianxin node: cannot start: the gRPC listener cannot bind ${busy.address}: the port is in use by another process`,
      );
      expect(oneLine(busyOperations)).toBe(
        `lianxin node: cannot start: the operations listener cannot bind ${busy.address}: the port is in use by another process`,
      );
      expect(oneLine(corrupt)).toMatch(new RegExp(`^lianxin node: cannot start: node store ${storeDir} is damaged `));
      expect(oneLine(noKey)).toBe(
        `lianxin node: cannot start: ${missingKey}: "keys.receipt" does not exist: ${keyFile}`,
      );
      expect(oneLine(unfinished)).toBe(
        `lianxin node: cannot start: node store ${join(restoringData, 'db')}: a restore into ${restoringData} did not ` +
          `finish (${join(restoringData, 'db.restoring')} is left); remove ${restoringData} and run lianxin node restore again`,
      );
      expect(await readdir(restoringData)).toEqual(['db.restoring']);
      // The gRPC API had started before the operations port was found busy: it was closed again.
      expect(await portFree(nanjingGrpc)).toBe(true);
      expect(await portFree(bankGrpc)).toBe(true);
    } finally {
      await new Promise((resolve) => busy.server.close(resolve));
    }
  });

  // The message is LevelDbBindingError's (network/leveldb/binding-cpu.ts), said where the process started.
  it.runIf(canHideCpuFlags && loadsStampedLevelDbBuild)(
    'refuses to start, before it opens its store, on a CPU without the SSE4.2 its LevelDB build was made for',
    async () => {
      const root = join(members.dir, 'no-sse4_2');
      const configFile = await nodeConfig('HefeiCreditMSP', {}, { register: false, dataRoot: root });
      const run = await runWithCpuFlagsHidden(['sse4_2'], root, [
        process.execPath,
        '--import',
        'tsx',
        DAEMON_MAIN,
        '--config',
        configFile,
      ]);
      expect(run.code).toBe(1);
      const stamp = join(classicLevelDir(), BUILD_STAMP);
      expect(run.stderr).toBe(
        `lianxin node: cannot start: this node_modules was built for a CPU with sse4_2, which this CPU lacks ` +
          `(/proc/cpuinfo): its LevelDB binding ${join(classicLevelDir(), 'build', 'Release', 'classic_level.node')} ` +
          `(${stamp}: ${HARDWARE_CRC_FLAGS}) would stop the process at its first store; run npm ci on this host ` +
          '(or npm run postinstall, which keeps the prebuilt binary on this CPU)\n',
      );
      expect(existsSync(join(root, 'nodes', 'HefeiCreditMSP', 'data', 'db'))).toBe(false);
    },
  );

  it('logs what an operator follows, each field once per line', async () => {
    // A call its handler refuses logs the caller: not as a second `mspId` next to the node's own.
    const b = await recordClient(nodeBAddresses.grpc, AGENCY_B);
    await ingest(b, 920_000, 'b-logs');
    await eventually(
      async () => ((await recordStatus(b, 920_000)).state === 'EVIDENCE_STATE_ANCHORED' ? true : undefined),
      { what: 'the batch anchored' },
    );
    await expect(recordStatus(b, 990_000)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    const refused = await eventually(async () =>
      Promise.resolve(nodeB.logs().find((line) => line.msg === 'call refused' && line.code === 'NOT_FOUND')),
    );
    expect(refused).toMatchObject({ mspId: AGENCY_B, caller: AGENCY_B, rpc: 'RecordService.GetRecordStatus' });

    const messages = new Set(nodeB.logs().map((line) => line.msg));
    for (const msg of ['node serving', 'checkpoint signed', 'anchor committed', 'chain index progress']) {
      expect(messages).toContain(msg);
    }
    const anchor = nodeB.logs().find((line) => line.msg === 'anchor committed');
    expect(anchor).toMatchObject({
      origin: `lianxin/${AGENCY_B}/0`,
      size: expect.any(Number) as unknown,
      transactionId: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
      blockNumber: expect.any(Number) as unknown,
    });
    for (const line of nodeB.rawLogs()) expect(duplicateKeys(line), line).toEqual([]);
  });

  it('stops on SIGTERM within the grace period and exits 0', async () => {
    const started = Date.now();
    expect(await nodeB.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(GRACE_SECONDS * 1000);
    expect(nodeB.logs().map((line) => line.msg)).toEqual(expect.arrayContaining(['stopping the node', 'node stopped']));
    expect(await portFree(nodeBAddresses.grpc)).toBe(true);
    expect(await portFree(nodeBAddresses.operations)).toBe(true);
  });
});
