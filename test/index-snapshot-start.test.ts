/**
 * A node's first start from a chain index snapshot (issue 13), between node processes: the Hangzhou agency's, the
 * Shanghai bank's and the Nanjing platform's nodes run as daemons with their libp2p hosts on loopback TCP, follow
 * the chain and snapshot their chain index at each block (signed statements, files in their data dirs). A node
 * joining later with an empty index loads the snapshot a quorum attests over `/lianxin/index-snapshot/1.0.0`
 * instead of replaying; with too few attesting institutions, or a snapshot whose rows were changed on every
 * serving node, it says why in its log and replays the chain from block 0 — and ends with the same index.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LianxinNode } from '../node/node.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { freeAddress } from './support/free-port.ts';
import { logLines } from './support/log-lines.ts';
import { startDaemon, type DaemonProcess } from './support/node-daemon-process.ts';
import { writeNodeProcessConfig } from './support/node-process.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const PLATFORM = 'NanjingSupplyChainMSP';
const SERVERS = [AGENCY, BANK, PLATFORM];
const SUBJECTS = Array.from({ length: 40 }, (_, i) => testUscc(700 + i));
const SNAPSHOTS = { chainIndex: { snapshotIntervalBlocks: 1 } };
const SETTINGS = { log: { level: 'info' }, checkpoint: { intervalSeconds: 1, leaves: 1000 }, ...SNAPSHOTS };

let net: TestNetwork;
const daemons: DaemonProcess[] = [];
/** The block of the snapshot every serving node took. */
let snapshotBlock: number;

/** Log lines of an in-process node. */
const line = (lines: readonly Record<string, unknown>[], msg: string) =>
  eventually(() => Promise.resolve(lines.find((l) => l.msg === msg)), { timeoutMs: 30_000, what: `"${msg}"` });

/** Starts `mspId`'s node in this process with p2p and an empty data dir; resolves with it and its log lines. */
async function join_(mspId: string, settings: Record<string, unknown> = {}) {
  const logs = logLines();
  const node: LianxinNode = await net.startNode(
    mspId,
    { log: { level: 'info' }, ...SNAPSHOTS, ...settings },
    { logDestination: logs.stream },
    { p2p: true },
  );
  return { node, lines: logs.lines };
}

/** Waits for the node's index to hold every subject at version 1 from the agency, and returns one record. */
const indexed = (node: LianxinNode) =>
  eventually(
    async () => {
      const records = await Promise.all(SUBJECTS.map((s) => node.chainIndex.getIndexRecord(s, 'loan')));
      return records.every((r) => r?.version === 1 && r.origin === `lianxin/${AGENCY}/0`) ? records[0] : undefined;
    },
    { timeoutMs: 30_000, what: 'the agency records in the joining node index' },
  );

beforeAll(async () => {
  net = await startTestNetwork();
  const configs = await Promise.all(
    SERVERS.map(
      async (mspId) =>
        (await writeNodeProcessConfig(net, mspId, SETTINGS, { p2pListen: await freeAddress() })).configFile,
    ),
  );
  for (const config of configs) daemons.push(startDaemon(config));
  const [agency] = await Promise.all(daemons.map((d) => d.serving));
  const records = new net.v1.RecordService(agency?.grpc ?? '', await net.credentials(AGENCY));
  await new Promise((resolve, reject) => {
    records.IngestBatch(
      {
        requestId: 'snapshot-records',
        records: SUBJECTS.map((subject) => ({
          subject,
          kind: 'loan',
          version: 1,
          contentType: 'application/json',
          content: Buffer.from(`{"subject":"${subject}"}`),
        })),
      },
      (err: grpc.ServiceError | null, res: unknown) => {
        if (err) reject(err);
        else resolve(res);
      },
    );
  });
  records.close();
  // Every serving node snapshots its index once the agency's anchor is applied: the same block everywhere.
  const blocks = await Promise.all(
    daemons.map((d) =>
      eventually(
        () => Promise.resolve(d.logs().find((l) => l.msg === 'chain index snapshot taken')?.blockNumber as number),
        { timeoutMs: 30_000, what: 'a chain index snapshot' },
      ),
    ),
  );
  expect(new Set(blocks).size).toBe(1);
  snapshotBlock = blocks[0] ?? -1;
}, 120_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await net[Symbol.asyncDispose]();
});

describe('a first start from a chain index snapshot', () => {
  it('loads the snapshot the serving nodes attest and follows the chain from its block, replaying nothing', async () => {
    const { node, lines } = await join_('HefeiCreditMSP');
    try {
      const loaded = await line(lines, 'chain index loaded from a snapshot');
      expect(loaded).toMatchObject({ blockNumber: snapshotBlock, rows: SUBJECTS.length + 1 });
      expect((loaded.attestedBy as string[]).length).toBeGreaterThanOrEqual(2);
      expect(node.chainIndex.position?.blockNumber).toBe(BigInt(snapshotBlock));
      expect(await indexed(node)).toMatchObject({ version: 1, blockNumber: String(snapshotBlock) });
      // Nothing was replayed: no anchor was applied by the follower.
      expect((await node.metrics.chainIndexEntries.get()).values[0]?.value ?? 0).toBe(0);
    } finally {
      await node.stop();
    }
  });

  it('replays from block 0 when fewer institutions than the quorum attest, and says so', async () => {
    const { node, lines } = await join_('OperatorMSP', { chainIndex: { snapshotQuorum: 4 } });
    try {
      const rejected = await line(lines, 'no chain index snapshot accepted: replaying the chain from block 0');
      expect(rejected.reason).toMatch(/no snapshot is attested by the 4 institutions required: at best 3/);
      expect(await indexed(node)).toMatchObject({ version: 1 });
      expect(lines.some((l) => l.msg === 'chain index loaded from a snapshot')).toBe(false);
    } finally {
      await node.stop();
    }
  });

  it('rejects a snapshot with one row changed on every serving node and replays from block 0', async () => {
    // One byte of a row value in each server's rows file: the statements still agree, the chunk no longer does.
    for (const mspId of SERVERS) {
      const dir = join(net.members.dir, 'nodes', mspId, 'data', 'index-snapshots');
      const rows = (await readdir(dir)).find((f) => f.endsWith('.rows'));
      const file = await open(join(dir, rows ?? 'missing'), 'r+');
      const byte = Buffer.alloc(1);
      await file.read(byte, 0, 1, 100);
      await file.write(Buffer.of(byte[0] === undefined ? 0 : byte[0] ^ 0xff), 0, 1, 100);
      await file.close();
    }
    const { node, lines } = await join_('RegulatorMSP');
    try {
      const rejected = await line(lines, 'no chain index snapshot accepted: replaying the chain from block 0');
      expect(rejected.reason).toMatch(/every peer holding the attested snapshot failed/);
      const perPeer = lines.filter((l) => l.msg === 'chain index snapshot rejected from this peer');
      expect(perPeer.map((l) => l.code)).toEqual(SERVERS.map(() => 'CHUNK_MISMATCH'));
      expect(await indexed(node)).toMatchObject({ version: 1 });
    } finally {
      await node.stop();
    }
  });
});
