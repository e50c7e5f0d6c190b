/**
 * The platform's notarized documents: document digest → the index of the log leaf that is its evidence, kept in
 * the records sublevel (node/notary/notary-keys.ts) and written in the log append's own atomic batch together
 * with the marker that puts the notarization on chain (node/notary EvidenceNotarizer), so a crash never leaves a
 * leaf without its entry and marker, or either without its leaf.
 * Idempotent by (platform, digest) as the chaincode's NotarizeEvidence is: this node's log holds one platform.
 */
import { randomBytes } from 'node:crypto';
import { NodeError } from '../api/errors.ts';
import type { ContractEvidence__Output } from '../api/generated/lianxin/v1/ContractEvidence.ts';
import type { TransparencyLog } from '../log/index.ts';
import { leafKey, pendingKey } from '../notary/index.ts';
import { decodeLogLeaf, encodeLogLeaf } from '../receipts/index.ts';
import type { NodeSublevel, SublevelWrite } from '../store/index.ts';

export interface NotaryStoreOptions {
  readonly db: NodeSublevel;
  readonly log: Pick<TransparencyLog, 'append' | 'leaf'>;
  /** The platform's MSP ID, written into every leaf. */
  readonly mspId: string;
}

export interface Notarized {
  readonly leafIndex: number;
  /** False when the same evidence was notarized before and nothing was written. */
  readonly created: boolean;
}

const NONCE_BYTES = 16;
const LEAF_VERSION = 1;

export class NotaryStore {
  readonly #o: NotaryStoreOptions;
  /** One notarization at a time: the duplicate check and the append must see each other's writes. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: Readonly<NotaryStoreOptions>) {
    this.#o = options;
  }

  /** The leaf index of a notarized document, if this node notarized it. */
  async leafIndexOf(documentDigest: Uint8Array): Promise<number | undefined> {
    const value = await this.#o.db.get(leafKey(documentDigest));
    return value === undefined ? undefined : Number(value.toString('utf8'));
  }

  /**
   * Logs validated contract evidence once. The same digest again with the same parties, signature digests and
   * labels gives the first leaf back.
   * @throws NodeError `ALREADY_EXISTS` when the digest was notarized with other evidence.
   */
  notarize(contract: ContractEvidence__Output): Promise<Notarized> {
    const result = this.#queue.then(() => this.#notarize(contract));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #notarize(contract: ContractEvidence__Output): Promise<Notarized> {
    const { db, log, mspId } = this.#o;
    const earlier = await this.leafIndexOf(contract.documentDigest);
    if (earlier !== undefined) {
      const logged = decodeLogLeaf(await log.leaf(earlier)).contract;
      if (logged === null || logged === undefined || !sameEvidence(logged, contract)) {
        throw new NodeError(
          'ALREADY_EXISTS',
          `document ${contract.documentDigest.toString('hex')} is already notarized with other parties, signatures or labels`,
          { field: 'document_digest' },
        );
      }
      return { leafIndex: earlier, created: false };
    }
    const leaf = encodeLogLeaf({
      version: LEAF_VERSION,
      org: mspId,
      appendedAtMs: Date.now(),
      nonce: randomBytes(NONCE_BYTES),
      contract,
    });
    const { firstIndex } = await log.append([leaf], (index): SublevelWrite[] => [
      { type: 'put', sublevel: db, key: leafKey(contract.documentDigest), value: Buffer.from(String(index)) },
      { type: 'put', sublevel: db, key: pendingKey(contract.documentDigest), value: Buffer.from(String(index)) },
    ]);
    return { leafIndex: firstIndex, created: true };
  }
}

function sameEvidence(a: ContractEvidence__Output, b: ContractEvidence__Output): boolean {
  const hex = (digests: readonly Uint8Array[]) => digests.map((d) => Buffer.from(d).toString('hex'));
  const labels = (map: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(map).sort());
  return (
    JSON.stringify(a.parties) === JSON.stringify(b.parties) &&
    JSON.stringify(hex(a.partySignatureDigests)) === JSON.stringify(hex(b.partySignatureDigests)) &&
    labels(a.labels) === labels(b.labels)
  );
}
