/**
 * A platform's notarization on chain, end to end on the embedded ledger: notarized on the platform's node, the
 * evidence is found on chain by its derived ID and by digest, and any institution's node answers a check by
 * digest from the chain; conflicting and malformed notarizations are refused naming the field. The platform's
 * node killed with notarizations in flight puts every notarization it logged on chain once it is back.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { evidenceIdOf } from '../chaincode/src/protocol.ts';
import type { NotarizeRequest } from '../node/api/generated/lianxin/v1/NotarizeRequest.ts';
import type { NotarizeResponse__Output } from '../node/api/generated/lianxin/v1/NotarizeResponse.ts';
import { lianxin } from '../node/cli/test-io.ts';
import type { LianxinNode } from '../node/node.ts';
import { runNetwork } from '../scripts/network/cli.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { unary } from './support/grpc-unary.ts';
import type { ListeningChild } from './support/listening-child.ts';
import { startNodeProcess, writeNodeProcessConfig, type NodeProcessConfig } from './support/node-process.ts';
import { CONSORTIUM_FILE, cliFlags } from './support/test-consortium.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const BANK = 'ShanghaiBankMSP';
const PLATFORM = 'NanjingSupplyChainMSP';
const AGENCY = 'HangzhouCreditMSP';

let net: TestNetwork;
let platformNode: LianxinNode;
let bankNode: LianxinNode;
const clients: grpc.Client[] = [];

const digestOf = (document: string) => createHash('sha256').update(document).digest();

/** `mspId`'s User1 calling the NotaryService of the node at `address` in `network`. */
async function notaryClient(address: string, mspId: string, network: TestNetwork = net) {
  const client = new network.v1.NotaryService(address, await network.credentials(mspId));
  clients.push(client);
  return {
    notarize: (request: NotarizeRequest) =>
      unary<NotarizeRequest, NotarizeResponse__Output>(client.Notarize.bind(client), request),
    get: (documentDigest: Buffer) =>
      unary<{ documentDigest: Buffer }, NotarizeResponse__Output>(client.GetNotarization.bind(client), {
        documentDigest,
      }),
    close: () => {
      client.close();
    },
  };
}

/** The CLI's connection flags for `mspId`'s User1 calling `node`. */
const as = (node: LianxinNode, mspId: string) => cliFlags(node.address, net.members.cryptoDir, mspId);

/** What a failed call says in its trailing metadata (node/api/errors.ts). */
function failure(err: unknown) {
  const e = err as grpc.ServiceError;
  return { code: e.code, field: e.metadata.get('lianxin-error-field')[0], message: e.message };
}

afterAll(() => {
  for (const client of clients) client.close();
});

describe('notarization on chain', () => {
  beforeAll(async () => {
    net = await startTestNetwork();
    platformNode = await net.startNode(PLATFORM, { checkpoint: { intervalSeconds: 1, leaves: 100 } });
    bankNode = await net.startNode(BANK);
  });

  afterAll(async () => {
    await net[Symbol.asyncDispose]();
  });

  const document = digestOf('purchase contract #7, 100 t of steel');
  const signature = digestOf('signature of the seller');

  it("notarizes on the platform's node and answers with the committed evidence, found on chain", async () => {
    const platform = await notaryClient(platformNode.address, PLATFORM);

    const response = await platform.notarize({
      requestId: 'n1',
      documentDigest: document,
      parties: [testUscc(1), BANK],
      partySignatureDigests: [signature],
      labels: { contract_type: 'purchase' },
    });

    const evidenceId = evidenceIdOf(PLATFORM, document.toString('hex'));
    expect(response).toMatchObject({
      receipt: { issuer: PLATFORM },
      chainState: 'CHAIN_NOTARIZATION_STATE_COMMITTED',
      chainEvidence: [
        {
          evidenceId,
          documentDigest: document,
          platform: PLATFORM,
          parties: [testUscc(1), BANK],
          partySignatureDigests: { [testUscc(1)]: signature },
          channel: net.members.consortium.channel,
        },
      ],
    });
    const [committed] = response.chainEvidence;
    expect(committed?.blockNumber).toBeGreaterThan(0);

    // Any member reads it from the chain, by its derived ID and by the document's digest.
    const chain = await net.chain(BANK);
    const onChain = await chain.getEvidence(evidenceId);
    expect(onChain).toMatchObject({
      documentDigest: document.toString('hex'),
      platform: PLATFORM,
      parties: [
        { type: 'enterprise', id: testUscc(1) },
        { type: 'institution', id: BANK },
      ],
      partySignatureDigests: { [testUscc(1)]: signature.toString('hex') },
      txId: committed?.transactionId,
    });
    await expect(chain.listEvidenceByDigest(document.toString('hex'))).resolves.toEqual([onChain]);

    // Asked again, the node gives the same receipt and evidence and the chain keeps one record.
    const again = await platform.notarize({
      requestId: 'n1-retry',
      documentDigest: document,
      parties: [testUscc(1), BANK],
      partySignatureDigests: [signature],
      labels: { contract_type: 'purchase' },
    });
    expect(again.receipt?.inclusion?.leafIndex).toBe(response.receipt?.inclusion?.leafIndex);
    expect(again.chainEvidence).toEqual(response.chainEvidence);
  });

  it("answers a bank checking the digest on its own node from the chain, and the platform's node with the receipt", async () => {
    const bankOnOwnNode = await notaryClient(bankNode.address, BANK);
    const fromChain = await bankOnOwnNode.get(document);
    expect(fromChain.receipt).toBeNull();
    expect(fromChain).toMatchObject({
      chainState: 'CHAIN_NOTARIZATION_STATE_UNSPECIFIED',
      chainEvidence: [{ platform: PLATFORM, parties: [testUscc(1), BANK] }],
    });
    // The block the bank dates the notarization by, asked of the chain since its record keeps the transaction only.
    expect(fromChain.chainEvidence[0]?.blockNumber).toBeGreaterThan(0);

    const bankOnPlatformNode = await notaryClient(platformNode.address, BANK);
    await expect(bankOnPlatformNode.get(document)).resolves.toMatchObject({
      receipt: { issuer: PLATFORM },
      chainState: 'CHAIN_NOTARIZATION_STATE_COMMITTED',
      chainEvidence: [
        { evidenceId: fromChain.chainEvidence[0]?.evidenceId, blockNumber: fromChain.chainEvidence[0]?.blockNumber },
      ],
    });

    const unknown = await bankOnOwnNode.get(digestOf('never notarized')).catch(failure);
    expect(unknown).toMatchObject({
      code: 5,
      message: expect.stringContaining('neither on this node nor on chain') as string,
    });
  });

  it('shows the chain evidence through the CLI on any node', async () => {
    const hex = document.toString('hex');
    const onBankNode = await lianxin(['notarization', hex, ...as(bankNode, BANK)]);
    expect(onBankNode.code).toBe(0);
    expect(JSON.parse(onBankNode.stdout)).toMatchObject({
      chainEvidence: [{ documentDigest: document.toString('base64'), platform: PLATFORM }],
    });
    expect(onBankNode.stderr).toMatch(
      /^on chain: notarized by NanjingSupplyChainMSP at .* tx [0-9a-f]{64}, block \d+\n$/,
    );

    const notarized = await lianxin([
      'notarize',
      '--digest',
      digestOf('sales contract #8').toString('hex'),
      '--party',
      testUscc(2),
      '--json',
      ...as(platformNode, PLATFORM),
    ]);
    expect(notarized.code).toBe(0);
    expect(JSON.parse(notarized.stdout)).toMatchObject({ issuer: PLATFORM });
    expect(notarized.stderr).toMatch(/^on chain: notarized by NanjingSupplyChainMSP .* tx [0-9a-f]{64}, block \d+\n$/);
  });

  it('refuses a document the platform notarized on chain with other parties, before logging it', async () => {
    const other = digestOf('supply contract #9');
    // The platform notarized it through another of its nodes.
    await (await net.chain(PLATFORM)).notarizeEvidence(other.toString('hex'), [testUscc(3)], {});
    const platform = await notaryClient(platformNode.address, PLATFORM);
    const size = platformNode.log.size;

    const err = await platform
      .notarize({ requestId: 'n3', documentDigest: other, parties: [testUscc(3), testUscc(4)] })
      .catch(failure);

    expect(err).toMatchObject({ code: 6, field: 'document_digest' });
    expect(platformNode.log.size).toBe(size);
    // This node's own earlier notarization with other parties is refused the same way.
    await expect(
      platform.notarize({ requestId: 'n4', documentDigest: document, parties: [testUscc(1)] }).catch(failure),
    ).resolves.toMatchObject({ code: 6, field: 'document_digest' });
  });

  it.each([
    ['an institution party not registered on chain', { parties: [testUscc(5), 'UnknownBankMSP'] }, 'parties[1]'],
    ['a 31-byte document digest', { documentDigest: Buffer.alloc(31, 1) }, 'document_digest'],
    ['a malformed signature digest', { partySignatureDigests: [Buffer.alloc(33, 1)] }, 'party_signature_digests[0]'],
  ])('refuses %s with INVALID_ARGUMENT naming the field', async (_name, change, field) => {
    const platform = await notaryClient(platformNode.address, PLATFORM);
    const size = platformNode.log.size;
    const err = await platform
      .notarize({ requestId: 'bad', documentDigest: digestOf('contract #10'), parties: [testUscc(5)], ...change })
      .catch(failure);
    expect(err).toMatchObject({ code: 3, field, message: expect.stringContaining(field) as string });
    expect(platformNode.log.size).toBe(size);
  });

  it("starts a node whose ingest.usccMode is looser than the registry's, admits in the registry's, and follows `network uscc-mode` while running", async () => {
    // Lenient against a strict registry, as after SetUsccMode strict: the node starts, held to strict.
    const agency = await net.startNode(AGENCY, { ingest: { usccMode: 'lenient' } });
    const records = new net.v1.RecordService(agency.address, await net.credentials(AGENCY));
    clients.push(records);
    const pilotCode = '91350100M0001TGQXM'; // well shaped, wrong check character
    // Each subject's next version (versions are ingested in order); each attempt its own request ID.
    const held = new Map<string, number>();
    let attempts = 0;
    const ingest = async (subject: string) => {
      const version = (held.get(subject) ?? 0) + 1;
      attempts += 1;
      const ack = await unary(records.IngestBatch.bind(records), {
        requestId: `mode-${String(attempts)}`,
        records: [{ subject, kind: 'loan', version, contentType: 'application/json', content: Buffer.from('{}') }],
      });
      held.set(subject, version);
      return ack;
    };
    const refusedSubject = { code: 3, field: 'records[0].subject' };
    await expect(ingest(pilotCode).catch(failure)).resolves.toMatchObject(refusedSubject);
    await expect(ingest(testUscc(7))).resolves.toBeDefined();

    // The operator makes the registry lenient: the running node admits the pilot-region code, without a restart.
    expect(await usccMode('lenient')).toMatchObject({
      code: 0,
      out: expect.stringMatching(
        /^registry USCC mode: lenient \(was strict; transaction \w+, block \d+\)\n$/,
      ) as string,
    });
    await eventually(
      () =>
        ingest(pilotCode).then(
          () => true,
          () => undefined,
        ),
      { what: 'the pilot code admitted' },
    );
    expect(await usccMode()).toEqual({ code: 0, out: 'registry USCC mode: lenient\n', err: '' });
    expect(await usccMode('lenient')).toEqual({ code: 0, out: 'registry USCC mode: lenient already\n', err: '' });
    // And strict again: refused again.
    expect((await usccMode('strict')).code).toBe(0);
    const refused = await eventually(() => ingest(pilotCode).then(() => undefined, failure), {
      what: 'the pilot code refused',
    });
    expect(refused).toMatchObject(refusedSubject);
    expect(await usccMode('loose')).toEqual({
      code: 2,
      out: '',
      err: 'network uscc-mode: the mode must be strict or lenient, got "loose"\n',
    });
  });
});

/** `npm run network -- uscc-mode [mode]` against this test's ledger. */
async function usccMode(...mode: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const args = ['uscc-mode', ...mode, '--config', CONSORTIUM_FILE, '--data-dir', net.members.dir];
  const code = await runNetwork([...args, '--ledger', net.ledger.address], {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: {},
  });
  return { code, out, err };
}

/** Rounds of notarizations killed in flight, and how many each sends at once. */
const CRASH_ROUNDS = 3;
const CRASH_NOTARIZATIONS = 20;
/**
 * After the first answer, the kill lands at a random point of log → submit → commit of the others: after a
 * random delay below CRASH_JITTER_MS, or as the answer numbered at random up to CRASH_MAX_ANSWERS_BEFORE_KILL
 * arrives, whichever comes first. The second bound keeps half the round in flight however fast the machine
 * answers: a delay alone let a quick node answer all twenty before the kill, leaving nothing to crash.
 */
const CRASH_JITTER_MS = 300;
const CRASH_MAX_ANSWERS_BEFORE_KILL = CRASH_NOTARIZATIONS / 2;
/** Four node starts and sixty commits, on a machine other tests also load. */
const CRASH_TEST_TIMEOUT_MS = 240_000;
/** The restarted node's worker may be backing off from a failure the kill caused. */
const COMMIT_DEADLINE_MS = 60_000;

describe('notarizations in flight when the node is killed with SIGKILL', () => {
  let crashNet: TestNetwork;
  let config: NodeProcessConfig;
  let running: ListeningChild | undefined;

  beforeAll(async () => {
    crashNet = await startTestNetwork();
    config = await writeNodeProcessConfig(crashNet, PLATFORM);
  });

  afterAll(async () => {
    await running?.kill();
    await crashNet[Symbol.asyncDispose]();
  });

  it(
    'reach the chain once the node is back, each once; an acknowledged one with the acknowledged transaction',
    async () => {
      const acked = new Map<string, NotarizeResponse__Output>();
      const sent: Buffer[] = [];
      const errorsBeforeKill: unknown[] = [];
      /** Per round: notarizations sent and not yet answered when SIGKILL was sent. */
      const inFlightAtKill: number[] = [];
      /** Notarizations whose call failed after the kill: the client never learnt their fate from the node. */
      let neverAcknowledged = 0;
      for (let round = 0; round < CRASH_ROUNDS; round++) {
        const node = await startNodeProcess(config);
        running = node;
        const platform = await notaryClient(node.address, PLATFORM, crashNet);
        const documents = Array.from({ length: CRASH_NOTARIZATIONS }, (_, i) =>
          digestOf(`round ${round}, contract ${i}`),
        );
        sent.push(...documents);
        const killAfterAnswers = 2 + Math.floor(Math.random() * (CRASH_MAX_ANSWERS_BEFORE_KILL - 1));
        let answered = 0;
        let killing: Promise<void> | undefined;
        // Synchronous from the answer or timer that decides it: SIGKILL goes out before another answer is read.
        const kill = () => {
          if (killing !== undefined) return;
          inFlightAtKill.push(documents.length - answered);
          killing = node.kill();
        };
        const answer = () => {
          answered += 1;
          if (answered === 1) setTimeout(kill, Math.random() * CRASH_JITTER_MS);
          if (answered >= killAfterAnswers) kill();
        };
        const calls = documents.map((documentDigest, i) =>
          platform.notarize({ requestId: `r${round}-${i}`, documentDigest, parties: [testUscc(i + 1), BANK] }).then(
            (response) => {
              acked.set(documentDigest.toString('hex'), response);
              answer();
            },
            (err: unknown) => {
              if (killing === undefined) errorsBeforeKill.push(err);
              else neverAcknowledged += 1;
              answer();
            },
          ),
        );
        await Promise.all(calls);
        await killing;
        platform.close();
      }
      expect(errorsBeforeKill).toEqual([]);
      // Each kill caught notarizations between request and answer, and at least one never got its answer: the
      // checks below are about work the node had taken on when it died, not only about work it had finished.
      expect(inFlightAtKill).toHaveLength(CRASH_ROUNDS);
      for (const inFlight of inFlightAtKill) expect(inFlight).toBeGreaterThanOrEqual(1);
      expect(neverAcknowledged).toBeGreaterThanOrEqual(1);

      running = await startNodeProcess(config);
      const platform = await notaryClient(running.address, PLATFORM, crashNet);
      const chain = await crashNet.chain(BANK);
      for (const document of sent) {
        const hex = document.toString('hex');
        const first = await platform.get(document).catch(failure);
        // FAILED_PRECONDITION: logged but not yet in a signed checkpoint (the restarted node signs one shortly).
        if ('code' in first && first.code !== grpc.status.FAILED_PRECONDITION) {
          // Never logged: never acknowledged, and never on chain.
          expect(first.code).toBe(5);
          expect(acked.has(hex)).toBe(false);
          await expect(chain.listEvidenceByDigest(hex)).resolves.toEqual([]);
          continue;
        }
        const answer = await eventually(
          async () => {
            const now = await platform.get(document).catch(failure);
            if ('code' in now) {
              expect(now.code).toBe(grpc.status.FAILED_PRECONDITION);
              return undefined;
            }
            return now.chainState === 'CHAIN_NOTARIZATION_STATE_COMMITTED' ? now : undefined;
          },
          { what: `document ${hex} committed on chain`, timeoutMs: COMMIT_DEADLINE_MS },
        );
        const onChain = await chain.listEvidenceByDigest(hex);
        expect(onChain).toHaveLength(1);
        expect(answer.chainEvidence[0]?.transactionId).toBe(onChain[0]?.txId);
        const ack = acked.get(hex);
        if (ack?.chainState === 'CHAIN_NOTARIZATION_STATE_COMMITTED') {
          expect(ack.chainEvidence[0]?.transactionId).toBe(onChain[0]?.txId);
        }
      }
      platform.close();
    },
    CRASH_TEST_TIMEOUT_MS,
  );
});
