/**
 * A node's first start from a verified snapshot of the chain index (issue 13): rather than replaying every anchor
 * from block 0 (≈5 minutes for 23M entries), an empty index asks the other registered nodes for their signed
 * snapshot statements, takes the newest snapshot a quorum of institutions attests (node/chain-index
 * snapshot-quorum.ts states the trust argument), downloads it from a peer that holds it over
 * `/lianxin/index-snapshot/1.0.0`, checking the manifest against the attested digest and each chunk against the
 * manifest, and loads it; the follower then resumes after the snapshot's position.
 *
 * Before downloading, the chain is asked whether it holds the snapshot's position (its block and transaction): one it
 * does not hold cannot be followed from (the follower would find the position off the chain and replay from block 0
 * after the download, gigabytes at scale), and is not loaded. Only one the chain surely lost (a ledger restored from
 * a backup older than the snapshot: its height past the block without the transaction there) is refused outright.
 * One it may only not have reached — this node's gateway peer behind it, typical of a new member whose peer is still
 * syncing, or a chain that did not answer — is asked about again on a backoff, up to `POSITION_WAIT.totalMs`. Every
 * attested snapshot is asked about (nodes keep two), and the newest the chain holds is taken: an older one at once,
 * rather than waiting for the newer — it costs replaying `snapshotIntervalBlocks` more, where the wait may not end.
 *
 * Any failure — no quorum, a position the chain does not hold, a manifest or chunk that does not match, a peer that
 * stops — leaves the index empty (the loader clears what it wrote) and is reported with its reason: the caller then
 * replays from block 0.
 */
import { createHash } from 'node:crypto';
import {
  IndexSnapshotError,
  loadIndexSnapshot,
  parseManifest,
  selectAttestedSnapshot,
  type AttestedSnapshot,
  type PeerStatements,
  type PositionJudge,
  type QuorumRule,
} from '../chain-index/index.ts';
import type { RegistrySnapshot } from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';
import {
  fetchSnapshotChunks,
  fetchSnapshotManifest,
  fetchSnapshotStatements,
  RegistryView,
  type P2pHost,
} from '../p2p/index.ts';
import type { NodeSublevel } from '../store/index.ts';
import { Backoff } from '../worker/backoff.ts';

export interface IndexSnapshotStartOptions {
  /** This node's institution: its own statements do not count. */
  readonly mspId: string;
  readonly channel: string;
  readonly chaincode: string;
  /** Institutions that must attest the same snapshot; 0: a majority of the other active institutions with a node. */
  readonly quorum: number;
  /** The chain's registry, read now: who runs nodes, where, with which receipt keys. */
  readonly registry: RegistrySnapshot;
  readonly host: Pick<P2pHost, 'openStreamTo'>;
  /** The chain's verdict on the snapshot's position (chainJudge: node/ledger's positionOffChain). */
  readonly judge: PositionJudge;
  /** The node's empty chain-index sublevel. */
  readonly db: NodeSublevel;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /** How long to wait for the chain to reach an attested snapshot's position (POSITION_WAIT by default). */
  readonly positionWait?: PositionWait;
}

export interface PositionWait {
  /** The first wait before the chain is asked again, doubling up to `maxMs`. */
  readonly initialMs: number;
  readonly maxMs: number;
  /** No more asking after this long: the node replays from block 0, at its peer's pace. */
  readonly totalMs: number;
}

export type IndexSnapshotStart =
  | {
      readonly loaded: true;
      readonly blockNumber: string;
      readonly transactionId: string;
      readonly rows: number;
      readonly from: string;
      readonly attestedBy: readonly string[];
    }
  | { readonly loaded: false; readonly reason: string };

/** How long each peer gets to list its statements. */
const STATEMENTS_TIMEOUT_MS = 10_000;
/**
 * A joiner asks again for an attested snapshot's position its chain has not reached for up to 10 minutes: a peer
 * syncing a long chain may take longer, but replaying from block 0 then goes at the peer's pace anyway, so a
 * snapshot reached later saves less.
 */
const POSITION_WAIT: PositionWait = { initialMs: 1_000, maxMs: 30_000, totalMs: 10 * 60_000 };

export async function startFromIndexSnapshot(o: Readonly<IndexSnapshotStartOptions>): Promise<IndexSnapshotStart> {
  const view = new RegistryView(o.registry);
  const peers = o.registry.nodes
    .filter((n) => n.mspId !== o.mspId && n.peerId !== '' && n.addresses.length > 0)
    .filter((n) => view.organization(n.mspId)?.status === 'active')
    .map((n) => ({ mspId: n.mspId, address: `${n.addresses[0] ?? ''}/p2p/${n.peerId}` }));
  const institutions = new Set(peers.map((p) => p.mspId)).size;
  if (institutions === 0) return { loaded: false, reason: 'no other institution has registered a node' };
  const required = o.quorum > 0 ? o.quorum : Math.floor(institutions / 2) + 1;

  const answers = await Promise.allSettled(
    peers.map(async (peer): Promise<PeerStatements> => {
      const signal = AbortSignal.any([AbortSignal.timeout(STATEMENTS_TIMEOUT_MS), ...(o.signal ? [o.signal] : [])]);
      return { peer: peer.address, statements: await fetchSnapshotStatements(o.host, peer.address, { signal }) };
    }),
  );
  const listed = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  let attested;
  try {
    attested = attestedSnapshots(listed, {
      channel: o.channel,
      chaincode: o.chaincode,
      required,
      mspId: o.mspId,
      active: (mspId) => view.organization(mspId)?.status === 'active',
      receiptKey: (mspId, kid, atMs) => view.receiptKey(mspId, kid, atMs),
      nowMs: Date.now(),
    });
  } catch (err) {
    const unanswered = answers.length - listed.length;
    return {
      loaded: false,
      reason: `${(err as Error).message}${unanswered > 0 ? ` (${String(unanswered)} of ${String(answers.length)} peers did not answer)` : ''}`,
    };
  }

  const chosen = await heldByTheChain(attested, o);
  if (typeof chosen === 'string') return { loaded: false, reason: chosen };

  const failures: string[] = [];
  for (const from of chosen.holders) {
    try {
      const bytes = await fetchSnapshotManifest(
        o.host,
        from,
        chosen.manifestDigest,
        o.signal ? { signal: o.signal } : {},
      );
      const digest = createHash('sha256').update(bytes).digest('hex');
      if (digest !== chosen.manifestDigest)
        throw new IndexSnapshotError(
          'BAD_MANIFEST',
          `"manifest" has digest ${digest}, not the attested ${chosen.manifestDigest}`,
        );
      const manifest = parseManifest(bytes);
      if (
        manifest.blockNumber !== chosen.blockNumber ||
        manifest.transactionId !== chosen.transactionId ||
        manifest.channel !== o.channel ||
        manifest.chaincode !== o.chaincode
      ) {
        throw new IndexSnapshotError(
          'BAD_MANIFEST',
          '"manifest" names another position or channel than its statements',
        );
      }
      const chunks = fetchSnapshotChunks(
        o.host,
        from,
        chosen.manifestDigest,
        manifest.chunks.length,
        o.signal ? { signal: o.signal } : {},
      );
      const loaded = await loadIndexSnapshot(o.db, manifest, chunks, o.signal ? { signal: o.signal } : {});
      return {
        loaded: true,
        blockNumber: manifest.blockNumber,
        transactionId: manifest.transactionId,
        rows: loaded.rows,
        from,
        attestedBy: chosen.attestedBy,
      };
    } catch (err) {
      if (o.signal?.aborted) throw err;
      const reason = (err as Error).message;
      failures.push(`${from}: ${reason}`);
      o.logger.warn(
        { from, code: (err as IndexSnapshotError).code, reason },
        'chain index snapshot rejected from this peer',
      );
    }
  }
  return { loaded: false, reason: `every peer holding the attested snapshot failed: ${failures.join('; ')}` };
}

/**
 * The attested snapshots, newest first: the newest (selectAttestedSnapshot's errors when there is none), then each
 * next older one a quorum attests, down to the first position without one or with two rival digests.
 */
function attestedSnapshots(listed: readonly PeerStatements[], rule: QuorumRule): AttestedSnapshot[] {
  const found = [selectAttestedSnapshot(listed, rule)];
  for (let older = found[0]; older !== undefined;) {
    try {
      older = selectAttestedSnapshot(listed, { ...rule, below: BigInt(older.blockNumber) });
      found.push(older);
    } catch {
      older = undefined;
    }
  }
  return found;
}

/**
 * The newest of `attested` whose position the chain holds, asking again on a backoff while it only may not have
 * reached them (its height, or no answer) and the wait lasts; otherwise why none can be followed from.
 */
async function heldByTheChain(
  attested: readonly AttestedSnapshot[],
  o: Readonly<IndexSnapshotStartOptions>,
): Promise<AttestedSnapshot | string> {
  const wait = o.positionWait ?? POSITION_WAIT;
  const backoff = new Backoff(wait.initialMs, wait.maxMs);
  const started = Date.now();
  const lost: string[] = [];
  for (let asked = attested; ;) {
    const verdicts = await Promise.all(
      asked.map((snapshot) =>
        o.judge(snapshot).catch((err: unknown) => ({
          why: `it did not answer (${(err as Error).message.split('\n')[0] ?? ''})`,
          sure: false,
        })),
      ),
    );
    const held = asked.find((_, i) => verdicts[i] === undefined);
    if (held !== undefined) return held;
    const said = (i: number) =>
      `block ${asked[i]?.blockNumber ?? ''} (transaction ${asked[i]?.transactionId ?? ''}): ${verdicts[i]?.why ?? ''}`;
    lost.push(...asked.flatMap((_, i) => (verdicts[i]?.sure === true ? [said(i)] : [])));
    const pending = asked.flatMap((_, i) => (verdicts[i]?.sure === false ? [i] : []));
    const waited = Date.now() - started;
    if (pending.length === 0 || waited >= wait.totalMs) {
      const after = pending.length > 0 ? ` (asked for ${String(Math.round(waited / 1000))} s)` : '';
      return (
        `the chain does not hold the attested snapshot's position, ` +
        `${[...lost, ...pending.map(said)].join('; ')}${after}; not downloaded`
      );
    }
    o.logger.info(
      { waiting: pending.map(said), lost },
      "waiting for the chain to reach an attested chain index snapshot's position",
    );
    await backoff.wait(o.signal ?? new AbortController().signal);
    o.signal?.throwIfAborted();
    asked = pending.map((i) => asked[i]).filter((snapshot) => snapshot !== undefined);
  }
}
