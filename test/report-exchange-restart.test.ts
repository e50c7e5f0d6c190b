/**
 * The provider's node killed mid-exchange (issue 10): the Hangzhou agency's node daemon is SIGKILLed while the
 * Shanghai bank's node runs exchanges with it, then started again on the same data dir and p2p address. The bank's
 * systems get the report or a clear error, never a hang; every exchange the bank completed has its receipt on
 * chain once the agency is back (a receipt left pending by the kill is recorded at its start), nothing more than
 * was asked for is on chain, and a new exchange succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { ERROR_CODE_KEY } from '../node/api/errors.ts';
import type { RequestReportResponse__Output } from '../node/api/generated/lianxin/v1/RequestReportResponse.ts';
import { sha256 } from '../network/crypto/index.ts';
import { testUscc } from './support/chaincode-log.ts';
import { CHAINCODE_NAME } from './support/chaincode-network.ts';
import { eventually } from './support/eventually.ts';
import { freeAddress } from './support/free-port.ts';
import { startDaemon, type DaemonProcess } from './support/node-daemon-process.ts';
import { writeNodeProcessConfig } from './support/node-process.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';
import { grantTestConsent } from './support/consent.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const REGULATOR = 'RegulatorMSP';
const PURPOSE = 'LOAN_APPROVAL';
const SUBJECT = testUscc(700);
const SETTINGS = { log: { level: 'info' }, checkpoint: { intervalSeconds: 1, leaves: 100 } };
/** Exchanges the bank keeps in flight while the agency is killed. */
const IN_FLIGHT = 6;

let net: TestNetwork;
const daemons: DaemonProcess[] = [];
const clients: grpc.Client[] = [];
let agencyConfig: string;
let agency: DaemonProcess;
let bankGrpc: string;
let consentId: string;

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

let reports: InstanceType<TestNetwork['v1']['ReportService']>;
const requestReport = (): Promise<RequestReportResponse__Output> =>
  call(reports.RequestReport.bind(reports), { subject: SUBJECT, kinds: ['loan'], purpose: PURPOSE, consentId });

/** The receipt's digest as the chain records it: SHA-256 of the signed receipt body. */
const receiptDigest = (answer: RequestReportResponse__Output) =>
  sha256(answer.bundle?.receipt?.body ?? Buffer.alloc(0)).toString('hex');

async function regulatorContract() {
  const connection = await net.members.connect(net.ledger.address, REGULATOR);
  return {
    contract: connection.gateway.getNetwork(net.members.consortium.channel).getContract(CHAINCODE_NAME),
    close: () => {
      connection.close();
    },
  };
}

beforeAll(async () => {
  net = await startTestNetwork();
  const agencyWritten = await writeNodeProcessConfig(net, AGENCY, SETTINGS, { p2pListen: await freeAddress() });
  const bankWritten = await writeNodeProcessConfig(net, BANK, SETTINGS, { p2pListen: await freeAddress() });
  agencyConfig = agencyWritten.configFile;
  agency = daemon(agencyConfig);
  const [agencyServing, bankServing] = await Promise.all([agency.serving, daemon(bankWritten.configFile).serving]);
  bankGrpc = bankServing.grpc;

  const records = new net.v1.RecordService(agencyServing.grpc, await net.credentials(AGENCY));
  clients.push(records);
  await call(records.IngestBatch.bind(records), {
    requestId: 'r1',
    records: [
      {
        subject: SUBJECT,
        kind: 'loan',
        version: 1,
        contentType: 'application/json',
        content: Buffer.from(JSON.stringify({ subject: SUBJECT, pad: 'x'.repeat(32_000) })),
      },
    ],
  });
  consentId = await grantTestConsent(await net.chain(BANK), { subject: SUBJECT, grantee: BANK, purpose: PURPOSE });
  reports = new net.v1.ReportService(bankGrpc, await net.credentials(BANK));
  clients.push(reports);
  // The bank's node finds the holder in its chain index once the agency's anchor reaches it from the chain.
  await eventually(() => requestReport().catch(() => undefined), {
    timeoutMs: 30_000,
    intervalMs: 200,
    what: "a first exchange (the agency's anchor in the bank node's chain index)",
  });
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(daemons.map((d) => d.stop()));
  await net[Symbol.asyncDispose]();
});

describe('the provider node killed mid-exchange', () => {
  it('gives the bank a clear error, records every completed access on chain after restart, and serves again', async () => {
    const completed: string[] = [];
    const failures: grpc.ServiceError[] = [];
    let attempts = 0;
    let killed = false;
    // Exchanges back to back until the agency has been killed; each in-flight call ends, with a report or an error.
    const worker = async () => {
      while (!killed) {
        attempts++;
        await requestReport().then(
          (answer) => completed.push(receiptDigest(answer)),
          (err: unknown) => failures.push(err as grpc.ServiceError),
        );
      }
    };
    const workers = Array.from({ length: IN_FLIGHT }, worker);
    await eventually(() => Promise.resolve(completed.length >= 20 ? true : undefined), {
      what: '20 exchanges before the kill',
    });
    expect(await agency.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    killed = true;
    const startedAt = Date.now();
    await Promise.all(workers);
    // The bank's node noticed the dead provider at once (a reset connection), not by a timeout.
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.code).toBe(grpc.status.UNAVAILABLE);
      expect(failure.metadata.get(ERROR_CODE_KEY)).toEqual(['P2P_UNAVAILABLE']);
      expect(failure.details).toContain(AGENCY);
    }

    agency = daemon(agencyConfig);
    await agency.serving;
    // The bank's node dials the agency again at the address the registry holds.
    const after = await eventually(() => requestReport().catch(() => undefined), {
      what: 'an exchange with the restarted agency',
    });
    expect(after).toMatchObject({ provider: AGENCY, accepted: true });
    completed.push(receiptDigest(after));

    const regulator = await regulatorContract();
    try {
      const onChain = async (digest: string) =>
        regulator.contract.evaluateTransaction('GetAccessReceipt', digest).then(
          () => true,
          () => undefined,
        );
      for (const digest of completed) {
        await eventually(() => onChain(digest), { what: `receipt ${digest} on chain` });
      }
      const listed: { receiptDigest: string }[] = [];
      let bookmark = '';
      do {
        const page = JSON.parse(
          Buffer.from(
            await regulator.contract.evaluateTransaction(
              'ListAccessReceipts',
              'subject',
              SUBJECT,
              '',
              '',
              '200',
              bookmark,
            ),
          ).toString('utf8'),
        ) as { items: { receiptDigest: string }[]; bookmark: string };
        listed.push(...page.items);
        bookmark = page.bookmark;
      } while (bookmark !== '');
      // Every completed exchange is there, and nothing beyond the exchanges the bank asked for (the ones in this
      // test, and the first one of beforeAll).
      const listedDigests = new Set(listed.map((r) => r.receiptDigest));
      expect(completed.filter((digest) => !listedDigests.has(digest))).toEqual([]);
      expect(listed.length).toBeLessThanOrEqual(attempts + 2);
    } finally {
      regulator.close();
    }
  }, 60_000);
});
