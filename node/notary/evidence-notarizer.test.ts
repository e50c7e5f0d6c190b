import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../network/crypto/index.ts';
import { eventually } from '../../test/support/eventually.ts';
import { ChainError } from '../ledger/index.ts';
import { openTransparencyLog, p256LogSigner, type TransparencyLog } from '../log/index.ts';
import { createLogger } from '../logging/index.ts';
import { NotaryStore } from '../services/notary-store.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { EvidenceNotarizer, type ChainNotarization } from './evidence-notarizer.ts';
import { FakeEvidenceChain, rejected } from './test-evidence-chain.ts';

const PLATFORM = 'SuzhouTradePlatformMSP';
const BANK = 'ShanghaiBankMSP';
const ENTERPRISE = '91330100MA27XK5U3F';
const logKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

/** The node's parts the worker needs, on a LevelDB in `dir`: reopened on the same directory to restart. */
interface Parts {
  readonly db: NodeDatabase;
  readonly log: TransparencyLog;
  readonly notary: NotaryStore;
  readonly notarizer: EvidenceNotarizer;
  close(): Promise<void>;
}

async function open(dir: string, chain: FakeEvidenceChain): Promise<Parts> {
  const db = await openNodeDatabase(dir);
  const log = await openTransparencyLog({
    db: db.log,
    origin: `lianxin/${PLATFORM}/0`,
    signer: p256LogSigner(logKey),
    checkpointIntervalMs: 3_600_000,
    checkpointLeaves: 1_000_000,
  });
  const notarizer = new EvidenceNotarizer({
    db: db.records,
    write: db.write,
    log,
    chain,
    logger: createLogger({ level: 'silent' }),
    retryInitialMs: 5,
    retryMaxMs: 20,
  });
  return {
    db,
    log,
    notary: new NotaryStore({ db: db.records, log, mspId: PLATFORM }),
    notarizer,
    async close() {
      await notarizer.stop();
      await log.close();
      await db.close();
    },
  };
}

const digestOf = (document: string) => sha256(Buffer.from(document));

function contract(document: string, parties = [ENTERPRISE, BANK], signatures = [digestOf(`${document} signed`)]) {
  return { documentDigest: digestOf(document), parties, partySignatureDigests: signatures, labels: {} };
}

/** Waits for the worker to settle the document, however long the chain takes. */
function settled(parts: Parts, document: string): Promise<ChainNotarization | undefined> {
  return parts.notarizer.settled(digestOf(document), new AbortController().signal);
}

let dir: string;
let chain: FakeEvidenceChain;
let parts: Parts;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-notary-'));
  chain = new FakeEvidenceChain(PLATFORM, [BANK]);
  parts = await open(dir, chain);
});

afterEach(async () => {
  await parts.close();
  await rm(dir, { recursive: true, force: true });
});

describe('EvidenceNotarizer', () => {
  it("submits a notarized document with each party's signature digest and keeps the chain's record", async () => {
    parts.notarizer.start();
    await parts.notary.notarize(contract('contract A'));

    const onChain = await settled(parts, 'contract A');

    expect(chain.submitted).toEqual([
      {
        documentDigest: digestOf('contract A').toString('hex'),
        parties: [ENTERPRISE, BANK],
        // Signature digests are aligned with the parties by position: the second party gave none.
        signatures: { [ENTERPRISE]: digestOf('contract A signed').toString('hex') },
      },
    ]);
    expect(onChain).toMatchObject({
      state: 'committed',
      blockNumber: 1,
      evidence: { platform: PLATFORM, parties: [{ id: ENTERPRISE }, { id: BANK }] },
    });
    await expect(parts.notarizer.state(digestOf('contract A'))).resolves.toEqual(onChain);
  });

  it('submits the pending notarizations together rather than one block after another', async () => {
    chain.hold();
    await parts.notary.notarize(contract('contract A'));
    await parts.notary.notarize(contract('contract B'));
    await parts.notary.notarize(contract('contract C'));
    parts.notarizer.start();

    await eventually(() => Promise.resolve(chain.submitted.length === 3 ? true : undefined), {
      what: 'three submissions in flight at once',
    });
    chain.release();

    for (const document of ['contract A', 'contract B', 'contract C']) {
      await expect(settled(parts, document)).resolves.toMatchObject({ state: 'committed' });
    }
  });

  it('resumes after a restart the notarizations acknowledged before it, each once', async () => {
    // Killed right after acknowledging: the leaf and its marker are durable, nothing was submitted.
    await parts.notary.notarize(contract('contract A'));
    await parts.notary.notarize(contract('contract B'));
    await parts.close();
    expect(chain.submitted).toHaveLength(0);

    parts = await open(dir, chain);
    await expect(parts.notarizer.state(digestOf('contract A'))).resolves.toEqual({ state: 'pending' });
    parts.notarizer.start();

    await expect(settled(parts, 'contract A')).resolves.toMatchObject({ state: 'committed' });
    await expect(settled(parts, 'contract B')).resolves.toMatchObject({ state: 'committed' });
    expect(chain.submitted.map((s) => s.documentDigest).sort()).toEqual(
      [digestOf('contract A'), digestOf('contract B')].map((d) => d.toString('hex')).sort(),
    );
  });

  it("takes the chain's existing evidence when the commit happened before a crash", async () => {
    const first = chain.put(PLATFORM, digestOf('contract A').toString('hex'), [ENTERPRISE, BANK], {
      [ENTERPRISE]: digestOf('contract A signed').toString('hex'),
    });
    parts.notarizer.start();
    await parts.notary.notarize(contract('contract A'));

    const onChain = await settled(parts, 'contract A');

    // The resubmission's own transaction wrote nothing: the evidence is the first one, its block unknown.
    expect(onChain).toEqual({ state: 'committed', evidence: first });
  });

  it('retries a chain that is down, and refusals the operator can clear, until the notarization commits', async () => {
    chain.failures.push(
      new ChainError('UNAVAILABLE', 'NotarizeEvidence: connection refused'),
      rejected('ORG_SUSPENDED', 'organisation SuzhouTradePlatformMSP is suspended'),
      // SetUsccMode strict after Notarize checked a pilot-region code; the operator sets it back.
      rejected('INVALID_USCC', '"parties[0]" has a wrong GB 32100 check character'),
      new ChainError('CONFLICT', 'NotarizeEvidence was invalidated with code 11'),
    );
    parts.notarizer.start();
    await parts.notary.notarize(contract('contract A'));

    await expect(settled(parts, 'contract A')).resolves.toMatchObject({ state: 'committed' });
    expect(chain.submitted).toHaveLength(5);
  });

  it('records a definitive refusal once and goes on with the other notarizations', async () => {
    chain.put(PLATFORM, digestOf('contract A').toString('hex'), [BANK]);
    parts.notarizer.start();
    await parts.notary.notarize(contract('contract A'));

    const refused = await settled(parts, 'contract A');
    await parts.notary.notarize(contract('contract B'));
    await settled(parts, 'contract B');

    expect(refused).toMatchObject({
      state: 'refused',
      code: 'EVIDENCE_CONFLICT',
      reason: expect.stringContaining('EVIDENCE_CONFLICT') as string,
    });
    await expect(parts.notarizer.state(digestOf('contract A'))).resolves.toEqual(refused);
    expect(chain.submitted.map((s) => s.documentDigest)).toEqual(
      [digestOf('contract A'), digestOf('contract B')].map((d) => d.toString('hex')),
    );
  });

  it('gives a waiter the pending state when its signal aborts, and the commit to a later one', async () => {
    chain.hold();
    parts.notarizer.start();
    await parts.notary.notarize(contract('contract A'));
    const timeout = new AbortController();

    const waiting = parts.notarizer.settled(digestOf('contract A'), timeout.signal);
    timeout.abort();

    await expect(waiting).resolves.toEqual({ state: 'pending' });
    chain.release();
    await expect(settled(parts, 'contract A')).resolves.toMatchObject({ state: 'committed' });
  });

  it('releases waiters when it stops, leaving the marker for the next start', async () => {
    chain.hold();
    parts.notarizer.start();
    await parts.notary.notarize(contract('contract A'));
    const waiting = settled(parts, 'contract A');

    const stopping = parts.notarizer.stop();
    chain.failures.push(new ChainError('UNAVAILABLE', 'NotarizeEvidence: the node is stopping'));
    chain.release();
    await stopping;

    await expect(waiting).resolves.toEqual({ state: 'pending' });
  });

  it('submits again the notarizations a chain that went back lost, at start and when told, and not those it holds', async () => {
    parts.notarizer.start();
    for (const document of ['contract A', 'contract B']) {
      await parts.notary.notarize(contract(document));
      await settled(parts, document);
    }
    const held = await parts.notarizer.state(digestOf('contract A'));
    // The ledger restored from a backup of its first block: B's transaction is gone.
    chain.goBack(2n);
    await expect(chain.listEvidenceByDigest(digestOf('contract B').toString('hex'))).resolves.toEqual([]);

    parts.notarizer.chainWentBack();
    await eventually(
      async () =>
        (await chain.listEvidenceByDigest(digestOf('contract B').toString('hex'))).length === 1 ? true : undefined,
      {
        what: 'B notarized again',
      },
    );
    await expect(settled(parts, 'contract B')).resolves.toMatchObject({ state: 'committed', blockNumber: 2 });
    await expect(parts.notarizer.state(digestOf('contract A'))).resolves.toEqual(held);
    expect(chain.submitted).toHaveLength(3);

    // Stopped across a restore that lost both: the next start submits them again.
    await parts.close();
    chain.goBack(1n);
    parts = await open(dir, chain);
    parts.notarizer.start();
    await eventually(() => Promise.resolve(chain.submitted.length === 5 ? true : undefined), {
      what: 'A and B notarized again',
    });
    for (const document of ['contract A', 'contract B']) {
      await expect(settled(parts, document)).resolves.toMatchObject({ state: 'committed' });
    }
  });

  it('knows nothing of a document this node did not notarize', async () => {
    await expect(parts.notarizer.state(digestOf('never'))).resolves.toBeUndefined();
  });
});
