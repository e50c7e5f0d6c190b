/**
 * Which snapshot a joining node may accept, without trusting the peer that serves it.
 *
 * Trust argument. The chain index at a position is a deterministic function of the chain up to that position, so
 * every honest node that reached it holds the same rows and writes the same manifest (snapshot-format.ts). Each
 * node signs "at position P my index has manifest digest D" with its institution's `receipt` key, registered on
 * chain with a validity window (the same keys that sign attestations and receipts). A joining node accepts D only
 * when at least `required` distinct active institutions signed the same (P, D) with keys valid when they signed;
 * by default a majority of the active institutions that run a node (other than its own). It then checks the
 * manifest's bytes against D and every chunk against the manifest, so the serving peer can only send that
 * content or be caught. Forging a snapshot therefore needs the receipt keys of `required` institutions. That
 * collusion reaches further than false attestations: each institution attests only its own records, but a snapshot
 * holds everyone's entries, so `required` institutions together can forge or omit entries of the others. Under the
 * default majority of a small consortium that is few: 2 of 3 other institutions, 1 when there is only one. A node
 * that will not trust that sets `chainIndex.snapshotQuorum` higher, or `chainIndex.snapshotStart: false` to replay.
 * Anything less (a tampered row, a dropped chunk, a digest too few sign) is rejected, and the node falls back to
 * replaying the chain from block 0, which trusts the chain alone.
 */
import type { KeyObject } from 'node:crypto';
import { IndexSnapshotError } from './snapshot-errors.ts';
import {
  parseStatement,
  statementSignatureValid,
  type SignedStatement,
  type SnapshotStatement,
} from './snapshot-format.ts';

export interface PeerStatements {
  /** Where the statements came from: the peer's dialable address. */
  readonly peer: string;
  readonly statements: readonly SignedStatement[];
}

export interface QuorumRule {
  readonly channel: string;
  readonly chaincode: string;
  /** Distinct institutions that must sign the same position and digest. */
  readonly required: number;
  /** The joining node's institution: its own statements (which any peer can relay) do not count. */
  readonly mspId: string;
  /** Whether `mspId` is active in the registry: a suspended institution's statements do not count. */
  readonly active: (mspId: string) => boolean;
  /** The registered receipt key `kid` of `mspId`, if valid for signing at `atMs` (RegistryView). */
  readonly receiptKey: (mspId: string, kid: string, atMs: number) => KeyObject | undefined;
  readonly nowMs: number;
  /** Only snapshots below this block count: an older one, for a joiner whose chain does not hold the newer. */
  readonly below?: bigint;
}

export interface AttestedSnapshot {
  readonly blockNumber: string;
  readonly transactionId: string;
  readonly manifestDigest: string;
  readonly rows: number;
  /** The institutions whose statements agree. */
  readonly attestedBy: readonly string[];
  /** Peers that listed it, who may serve it. */
  readonly holders: readonly string[];
}

/** Statements signed more than this far in the future are refused (clock skew between nodes). */
const MAX_SKEW_MS = 60_000;

/**
 * The newest snapshot (highest block) that `rule.required` institutions attest, among what the peers sent.
 * @throws IndexSnapshotError `NO_QUORUM` saying how many agreed at best, and which statements were refused;
 *   `CONFLICTING_QUORUMS` naming both when another digest at the newest attested position has a quorum too.
 */
export function selectAttestedSnapshot(peers: readonly PeerStatements[], rule: QuorumRule): AttestedSnapshot {
  const groups = new Map<string, { statement: SnapshotStatement; signers: Set<string>; holders: Set<string> }>();
  const refused: string[] = [];
  for (const { peer, statements } of peers) {
    for (const signed of statements) {
      let statement: SnapshotStatement;
      try {
        statement = parseStatement(signed.body);
      } catch (err) {
        refused.push(`${peer}: ${(err as Error).message}`);
        continue;
      }
      if (rule.below !== undefined && BigInt(statement.blockNumber) >= rule.below) continue;
      const problem = statementProblem(statement, signed, rule);
      if (problem !== undefined) {
        refused.push(`${peer}: ${statement.mspId} ${problem}`);
        continue;
      }
      const id = `${statement.blockNumber}/${statement.transactionId}/${statement.manifestDigest}`;
      const group = groups.get(id) ?? { statement, signers: new Set<string>(), holders: new Set<string>() };
      group.signers.add(statement.mspId);
      group.holders.add(peer);
      groups.set(id, group);
    }
  }
  const ranked = [...groups.values()].sort((a, b) => {
    const byBlock = BigInt(b.statement.blockNumber) - BigInt(a.statement.blockNumber);
    return byBlock !== 0n ? (byBlock > 0n ? 1 : -1) : b.signers.size - a.signers.size;
  });
  const chosen = ranked.find((group) => group.signers.size >= rule.required);
  const rival =
    chosen &&
    ranked.find(
      (group) =>
        group !== chosen &&
        group.signers.size >= rule.required &&
        group.statement.blockNumber === chosen.statement.blockNumber &&
        group.statement.transactionId === chosen.statement.transactionId,
    );
  if (chosen && rival) {
    // The index at a position is a function of the chain: two digests there are institutions equivocating, or
    // nodes that do not compute the same index. Neither can be taken on trust.
    const named = (group: typeof chosen) =>
      `${group.statement.manifestDigest} by ${[...group.signers].sort().join(', ')}`;
    throw new IndexSnapshotError(
      'CONFLICTING_QUORUMS',
      `two snapshots at block ${chosen.statement.blockNumber} each have the ${String(rule.required)} institutions ` +
        `required: ${named(chosen)}; ${named(rival)}`,
    );
  }
  if (chosen === undefined) {
    const best = [...groups.values()].sort((a, b) => b.signers.size - a.signers.size)[0];
    const bestText =
      best === undefined
        ? 'no valid statement'
        : `at best ${String(best.signers.size)} (${[...best.signers].join(', ')}) at block ${best.statement.blockNumber}`;
    throw new IndexSnapshotError(
      'NO_QUORUM',
      `no snapshot is attested by the ${String(rule.required)} institutions required: ${bestText}` +
        (refused.length > 0 ? `; refused: ${refused.join('; ')}` : ''),
    );
  }
  const { statement } = chosen;
  return {
    blockNumber: statement.blockNumber,
    transactionId: statement.transactionId,
    manifestDigest: statement.manifestDigest,
    rows: statement.rows,
    attestedBy: [...chosen.signers].sort(),
    holders: [...chosen.holders],
  };
}

function statementProblem(statement: SnapshotStatement, signed: SignedStatement, rule: QuorumRule): string | undefined {
  if (statement.channel !== rule.channel || statement.chaincode !== rule.chaincode)
    return `signed for ${statement.channel}/${statement.chaincode}, not ${rule.channel}/${rule.chaincode}`;
  if (statement.mspId === rule.mspId) return "is this node's own institution";
  if (!rule.active(statement.mspId)) return 'is not an active institution';
  const signedAtMs = Date.parse(statement.signedAt);
  if (signedAtMs > rule.nowMs + MAX_SKEW_MS) return `signed in the future (${statement.signedAt})`;
  const key = rule.receiptKey(statement.mspId, statement.kid, signedAtMs);
  if (key === undefined) return `has no receipt key ${statement.kid} valid at ${statement.signedAt}`;
  return statementSignatureValid(signed, key) ? undefined : 'signature does not verify';
}
