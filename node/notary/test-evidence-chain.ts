/**
 * Test support: the chain as the notary sees it, with the chaincode's evidence rules (chaincode/src/evidence.ts):
 * idempotent per platform and digest, EVIDENCE_CONFLICT for other parties or signatures, institution parties must
 * be registered. Tests can queue failures and hold submissions.
 */
import { randomBytes } from 'node:crypto';
import { evidenceIdOf, USCC_LIKE, type Settings, type UsccMode } from '../../chaincode/src/protocol.ts';
import { ChainError, type Committed, type Evidence, type LianxinChain, type Organization } from '../ledger/index.ts';

export class FakeEvidenceChain implements Pick<
  LianxinChain,
  'notarizeEvidence' | 'listEvidenceByDigest' | 'getOrganization' | 'getSettings' | 'blockNumberOf'
> {
  /** Every NotarizeEvidence call, committed or not. */
  readonly submitted: { documentDigest: string; parties: readonly string[]; signatures: Record<string, string> }[] = [];
  /** Thrown by the next submissions, first first. */
  readonly failures: ChainError[] = [];
  /** While set, every call fails as with the ledger unreachable. */
  down = false;
  /** The registry's USCC mode (SetUsccMode), as GetSettings answers it. */
  usccMode: UsccMode = 'strict';
  readonly #evidence = new Map<string, Evidence>();
  readonly #organizations: ReadonlySet<string>;
  readonly #platform: string;
  /** Each committed transaction's block, by ID. */
  readonly #blocks = new Map<string, bigint>();
  #held: PromiseWithResolvers<undefined> | undefined;

  /** Notarizations by `platform`; `organizations` are the registered MSP IDs. */
  constructor(platform: string, organizations: readonly string[]) {
    this.#platform = platform;
    this.#organizations = new Set(organizations);
  }

  /** Submissions wait until release(). */
  hold(): void {
    this.#held ??= Promise.withResolvers();
  }

  release(): void {
    this.#held?.resolve(undefined);
    this.#held = undefined;
  }

  /** Puts evidence on the chain as if `platform` had notarized the document through another node. */
  put(platform: string, documentDigest: string, parties: readonly string[], signatures: Record<string, string> = {}) {
    const evidence = this.#evidenceOf(platform, documentDigest, parties, signatures, this.#commit().transactionId);
    this.#evidence.set(evidence.evidenceId, evidence);
    return evidence;
  }

  /** The chain restored to its first `height` blocks (a ledger restored from an older backup). */
  goBack(height: bigint): void {
    for (const [transactionId, block] of this.#blocks) if (block >= height) this.#blocks.delete(transactionId);
    for (const [id, evidence] of this.#evidence) if (!this.#blocks.has(evidence.txId)) this.#evidence.delete(id);
  }

  /** A new transaction, in a block of its own. */
  #commit(): { transactionId: string; blockNumber: bigint } {
    const transactionId = randomBytes(32).toString('hex');
    const blockNumber = BigInt(this.#blocks.size + 1);
    this.#blocks.set(transactionId, blockNumber);
    return { transactionId, blockNumber };
  }

  async notarizeEvidence(
    documentDigest: string,
    parties: readonly string[],
    signatures: Readonly<Record<string, string>>,
  ): Promise<Committed<Evidence>> {
    this.submitted.push({ documentDigest, parties, signatures: { ...signatures } });
    await this.#held?.promise;
    this.#reachable('NotarizeEvidence');
    const failure = this.failures.shift();
    if (failure) throw failure;
    const unregistered = parties.find((p) => !USCC_LIKE.test(p) && !this.#organizations.has(p));
    if (unregistered !== undefined) throw rejected('ORG_NOT_FOUND', `organisation ${unregistered} does not exist`);
    const { transactionId, blockNumber } = this.#commit();
    const fresh = this.#evidenceOf(this.#platform, documentDigest, parties, signatures, transactionId);
    const existing = this.#evidence.get(fresh.evidenceId);
    if (existing === undefined) {
      this.#evidence.set(fresh.evidenceId, fresh);
      return { result: fresh, transactionId, blockNumber };
    }
    const same =
      JSON.stringify(existing.parties) === JSON.stringify(fresh.parties) &&
      JSON.stringify(Object.entries(existing.partySignatureDigests).sort()) ===
        JSON.stringify(Object.entries(fresh.partySignatureDigests).sort());
    if (!same) throw rejected('EVIDENCE_CONFLICT', `document ${documentDigest} is already notarized`);
    return { result: existing, transactionId, blockNumber };
  }

  async blockNumberOf(transactionId: string): Promise<bigint> {
    return await this.#evaluate('GetBlockByTxID', () => {
      const block = this.#blocks.get(transactionId);
      if (block === undefined) {
        throw new ChainError('REJECTED', `GetBlockByTxID: no such transaction ID [${transactionId}] in index`);
      }
      return block;
    });
  }

  listEvidenceByDigest(documentDigest: string): Promise<Evidence[]> {
    return this.#evaluate('ListEvidenceByDigest', () =>
      [...this.#evidence.values()].filter((e) => e.documentDigest === documentDigest),
    );
  }

  getOrganization(mspId: string): Promise<Organization | undefined> {
    return this.#evaluate('GetOrganization', () => {
      if (!this.#organizations.has(mspId)) return undefined;
      const at = new Date().toISOString();
      return { mspId, name: mspId, city: 'Shanghai', role: 'bank', status: 'active', registeredAt: at, updatedAt: at };
    });
  }

  getSettings(): Promise<Settings> {
    return this.#evaluate('GetSettings', () => ({ usccMode: this.usccMode }));
  }

  #reachable(transaction: string): void {
    if (this.down) throw unavailable(transaction);
  }

  #evaluate<T>(transaction: string, answer: () => T): Promise<T> {
    return this.down ? Promise.reject(unavailable(transaction)) : Promise.resolve(answer());
  }

  #evidenceOf(
    platform: string,
    documentDigest: string,
    parties: readonly string[],
    signatures: Readonly<Record<string, string>>,
    txId: string,
  ): Evidence {
    return {
      evidenceId: evidenceIdOf(platform, documentDigest),
      documentDigest,
      platform,
      parties: parties.map((id) => ({ type: USCC_LIKE.test(id) ? 'enterprise' : 'institution', id })),
      partySignatureDigests: { ...signatures },
      notarizedAt: new Date().toISOString(),
      txId,
    };
  }
}

const unavailable = (transaction: string) => new ChainError('UNAVAILABLE', `${transaction}: connect ECONNREFUSED`);

/** A chaincode refusal as the chain facade reports it. */
export function rejected(chaincodeCode: string, detail: string): ChainError {
  return new ChainError('REJECTED', `NotarizeEvidence: chaincode response 500, ${chaincodeCode}: ${detail}`, {
    chaincodeCode,
  });
}
