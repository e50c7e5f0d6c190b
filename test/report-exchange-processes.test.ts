/**
 * The report exchange between node processes (issue 10): the Hangzhou agency's node and the Shanghai bank's node
 * each run as the node daemon (node/daemon), on the embedded ledger, with their libp2p hosts on loopback TCP ports
 * registered on chain. The bank's systems call ReportService on the bank's own node over mutual TLS: with a
 * consent on chain they get the agency's report, verified, with its receipt bundle; without one, the agency's
 * signed refusal. A node whose p2p port is taken says so in one line and exits 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ERROR_CODE_KEY, REFUSAL_REASON_KEY } from '../node/api/errors.ts';
import type { RequestReportResponse__Output } from '../node/api/generated/lianxin/v1/RequestReportResponse.ts';
import { decodeAccessReceipt } from '../node/p2p/exchange-messages.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { startDaemon, type DaemonProcess } from './support/node-daemon-process.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';
import { freeAddress } from './support/free-port.ts';
import { writeNodeProcessConfig } from './support/node-process.ts';
import { grantTestConsent } from './support/consent.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const PLATFORM = 'NanjingSupplyChainMSP';
const PURPOSE = 'LOAN_APPROVAL';
const HELD = testUscc(500);
const UNCONSENTED = testUscc(501);
const SETTINGS = { log: { level: 'info' }, checkpoint: { intervalSeconds: 1, leaves: 100 } };

let net: TestNetwork;
const daemons: DaemonProcess[] = [];
const clients: grpc.Client[] = [];
let agency: { grpc: string };
let bank: { grpc: string };

/** Writes node0's node.yaml for `mspId` with its p2p host on `p2pListen`, and registers it there. */
async function nodeConfig(mspId: string, p2pListen: string): Promise<string> {
  return (await writeNodeProcessConfig(net, mspId, SETTINGS, { p2pListen })).configFile;
}

function daemon(configFile: string): DaemonProcess {
  const started = startDaemon(configFile);
  daemons.push(started);
  return started;
}

function call<Req, Res>(method: (req: Req, cb: grpc.requestCallback<Res>) => unknown, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}

async function requestReport(subject: string, consentId: string): Promise<RequestReportResponse__Output> {
  const reports = new net.v1.ReportService(bank.grpc, await net.credentials(BANK));
  clients.push(reports);
  return call(reports.RequestReport.bind(reports), { subject, kinds: ['loan'], purpose: PURPOSE, consentId });
}

beforeAll(async () => {
  net = await startTestNetwork();
  // Both registered before either starts: each reads the other from the registry at its start.
  const configs = [await nodeConfig(AGENCY, await freeAddress()), await nodeConfig(BANK, await freeAddress())];
  const [agencyServing, bankServing] = await Promise.all(configs.map((config) => daemon(config).serving));
  if (!agencyServing || !bankServing) throw new Error('the nodes did not start');
  agency = agencyServing;
  bank = bankServing;

  const records = new net.v1.RecordService(agency.grpc, await net.credentials(AGENCY));
  clients.push(records);
  await call(records.IngestBatch.bind(records), {
    requestId: 'r1',
    records: [HELD, UNCONSENTED].map((subject) => ({
      subject,
      kind: 'loan',
      version: 1,
      contentType: 'application/json',
      content: Buffer.from(`{"subject":"${subject}"}`),
    })),
  });
  // The bank's node finds the holder in its chain index once the agency's anchor reaches it from the chain (until
  // its index has caught up at all, UNAVAILABLE: INDEX_CATCHING_UP).
  const notYet: readonly grpc.status[] = [grpc.status.NOT_FOUND, grpc.status.UNAVAILABLE];
  await eventually(
    () =>
      requestReport(UNCONSENTED, '0'.repeat(64)).then(
        () => true,
        (err: unknown) => (notYet.includes((err as grpc.ServiceError).code) ? undefined : true),
      ),
    { timeoutMs: 30_000, intervalMs: 200, what: "the agency's anchor in the bank node's chain index" },
  );
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(daemons.map((d) => d.stop()));
  await net[Symbol.asyncDispose]();
});

describe('ReportService between node processes', () => {
  it("gives the bank the agency's report with a consent on chain, and the agency's signed refusal without", async () => {
    const consentId = await grantTestConsent(await net.chain(BANK), { subject: HELD, grantee: BANK, purpose: PURPOSE });
    const answer = await requestReport(HELD, consentId);
    expect(answer).toMatchObject({ provider: AGENCY, accepted: true });
    expect(answer.records.map((r) => Buffer.from(r.content).toString())).toEqual([`{"subject":"${HELD}"}`]);
    expect(decodeAccessReceipt(answer.bundle?.receipt?.body ?? Buffer.alloc(0))).toMatchObject({
      provider: AGENCY,
      requester: BANK,
      subject: HELD,
      consentId,
    });

    const refused = (await requestReport(UNCONSENTED, consentId).catch((err: unknown) => err)) as grpc.ServiceError;
    expect(refused.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(refused.metadata.get(ERROR_CODE_KEY)).toEqual(['REFUSED']);
    expect(refused.metadata.get(REFUSAL_REASON_KEY)).toEqual(['NO_CONSENT']);
  });

  it('refuses to start on a busy p2p port: one line, exit 1', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(busy.address() as AddressInfo).port}`;
    try {
      const started = daemon(await nodeConfig(PLATFORM, address));
      expect(await started.exited).toEqual({ code: 1, signal: null });
      expect(started.stderr().split('\n').filter(Boolean)).toEqual([
        `lianxin node: cannot start: the p2p listener cannot bind ${address}: the port is in use by another process`,
      ]);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
