/**
 * The explorer's views from the node's own parts: the chain's registry and checkpoints (LianxinChain), the chain
 * index (every institution's anchored leaves and anchoring history), the node's record metadata and log, the
 * attestation builder the API signs with, and the regulator's audit (node/audit). Nothing here reads a record's
 * content: RecordStore.get returns metadata, the content stays behind RecordStore.content.
 */
import type { AnchoredCheckpoint, Organization, PublicKeyRecord } from '../../chaincode/src/protocol.ts';
import { NodeError } from '../api/index.ts';
import type { AuditedAccess, AuditQuery } from '../audit/index.ts';
import { IndexCatchingUpError, type ChainIndex } from '../chain-index/index.ts';
import type { LianxinChain } from '../ledger/index.ts';
import type { TransparencyLog } from '../log/index.ts';
import { attestationBytes, exportTrustBundle } from '../receipts/index.ts';
import type { RecordStore } from '../records/index.ts';
import type { AttestationBuilder } from '../services/attestation-builder.ts';
import type { CheckpointAnchorer } from '../anchor/index.ts';
import { ExplorerError, unavailableOf } from './errors.ts';
import { authorizeView, mayView, type ServingNode } from './explorer-access.ts';
import type { ExplorerData } from './explorer-data.ts';
import { anchoringSeries } from './anchoring.ts';
import type { AccessView, ConsortiumView, InstitutionView, KeyView, RecordView } from './explorer-views.ts';

export interface NodeExplorerComponents {
  readonly node: ServingNode;
  readonly chain: Pick<LianxinChain, 'registrySnapshot' | 'getCheckpoint' | 'channelCaCertificates'>;
  /** The channel the trust bundle is for. */
  readonly channel: string;
  /**
   * The chain index as the node answers others from it (node/chain-index answeringIndex): a lookup refused while it
   * is catching up or off the chain's events, when a miss or an older version may only be its lag.
   */
  readonly chainIndex: Pick<ChainIndex, 'getIndexRecord' | 'anchorHistory'>;
  /**
   * Why the chain index may be behind the chain (catching up, or off the chain's events), undefined while it follows
   * it: the anchoring history is then refused as the lookups are, not shown short of the chain.
   */
  readonly indexBehind: () => string | undefined;
  readonly records: Pick<RecordStore, 'get'>;
  readonly log: Pick<TransparencyLog, 'latestCheckpoint'>;
  readonly anchorer: Pick<CheckpointAnchorer, 'anchoredSize'>;
  readonly attestations: Pick<AttestationBuilder, 'attest'>;
  /** The regulator's audit over the node's p2p host; absent on other nodes or without p2p. */
  readonly audit?: (query: AuditQuery, options: { signal?: AbortSignal }) => Promise<AuditedAccess[]>;
  readonly now?: () => Date;
}

export function nodeExplorerData(c: Readonly<NodeExplorerComponents>): ExplorerData {
  const now = c.now ?? (() => new Date());
  /** Refuses while the index may be behind the chain: its anchoring history may stop short (or be cleared). */
  const indexFollowing = (): void => {
    const behind = c.indexBehind();
    if (behind === undefined) return;
    const why = `this node's chain index is behind the chain (${behind}): its anchoring history may stop short; retry`;
    throw new IndexCatchingUpError(why);
  };
  // The same for every viewer, and a few chaincode evaluations and a read of the index's anchoring history to make:
  // made once for the requests of a few seconds.
  const consortiumView = sharedFor(
    CONSORTIUM_VIEW_MS,
    () => now().getTime(),
    async (): Promise<ConsortiumView> => {
      const snapshot = await c.chain.registrySnapshot();
      const origins = [...new Set(snapshot.nodes.map((n) => n.origin))];
      const checkpoints = new Map(
        await Promise.all(origins.map(async (origin) => [origin, await c.chain.getCheckpoint(origin)] as const)),
      );
      const history = await c.chainIndex.anchorHistory();
      // Again after the read: the index may have fallen behind (started over, cleared) since the request's check,
      // and a view read then is neither answered nor kept.
      indexFollowing();
      const at = now();
      return {
        generatedAt: at.toISOString(),
        servedBy: c.node.mspId,
        institutions: snapshot.organizations.map((org) =>
          institutionView(
            org,
            snapshot.nodes.filter((n) => n.mspId === org.mspId),
            snapshot.keys.filter((k) => k.mspId === org.mspId),
            checkpoints,
          ),
        ),
        anchoring: anchoringSeries(history, at.getTime()),
      };
    },
  );
  return {
    async consortium(viewer) {
      authorizeView('consortium', viewer, c.node);
      return unavailableOn(() => {
        // At each request too: a view made before the index fell behind may be kept, but is not served while it is.
        indexFollowing();
        return consortiumView();
      });
    },

    async trustBundle(viewer) {
      authorizeView('trust-bundle', viewer, c.node);
      return unavailableOn(() => exportTrustBundle(c.chain, c.channel));
    },

    async record(viewer, query) {
      authorizeView('record', viewer, c.node);
      const notFound = () =>
        new ExplorerError('NOT_FOUND', `no ${query.kind} record of ${query.subject} is held here or indexed on chain`);
      if (viewer.kind === 'public') {
        // Whether and when, from the chain alone: this node's own copy is not the public's to know of.
        const indexed = await unavailableOn(() => c.chainIndex.getIndexRecord(query.subject, query.kind));
        if (indexed === undefined) throw notFound();
        return { subject: query.subject, kind: query.kind, anchoredOn: dayOf(indexed.anchoredAt), detail: null };
      }
      const [indexed, own] = await Promise.all([
        unavailableOn(() => c.chainIndex.getIndexRecord(query.subject, query.kind)),
        unavailableOn(() => c.records.get(query.subject, query.kind)),
      ]);
      if (indexed === undefined && own === undefined) throw notFound();
      const view: RecordView = {
        subject: query.subject,
        kind: query.kind,
        anchoredOn: indexed === undefined ? null : dayOf(indexed.anchoredAt),
        detail: {
          chain:
            indexed === undefined
              ? null
              : {
                  origin: indexed.origin,
                  version: indexed.version,
                  leafIndex: indexed.leafIndex,
                  leafHash: indexed.leafHash,
                  recordDigest: indexed.recordDigest,
                  checkpointSize: indexed.checkpointSize,
                  txId: indexed.txId,
                  blockNumber: indexed.blockNumber,
                  anchoredAt: indexed.anchoredAt,
                },
          local:
            own === undefined
              ? null
              : {
                  version: own.version,
                  leafIndex: own.leafIndex,
                  recordDigest: own.digest,
                  stage: stageOf(own.leafIndex, c.anchorer.anchoredSize, c.log.latestCheckpoint()?.size ?? 0),
                },
          // Offered only to a viewer the attestation route would serve.
          attestable: own !== undefined && mayView('attestation', viewer, c.node),
        },
      };
      return view;
    },

    async attestation(viewer, query) {
      authorizeView('attestation', viewer, c.node);
      const own = await unavailableOn(() => c.records.get(query.subject, query.kind));
      if (own === undefined) {
        const indexed = await unavailableOn(() => c.chainIndex.getIndexRecord(query.subject, query.kind));
        throw new ExplorerError(
          'NOT_FOUND',
          indexed === undefined
            ? `no ${query.kind} record of ${query.subject} is held here or indexed on chain`
            : `${c.node.mspId}'s node does not hold this record: its attestation comes from the node of ${indexed.origin}`,
        );
      }
      try {
        return attestationBytes(await unavailableOn(() => c.attestations.attest(own.leafIndex)));
      } catch (err) {
        // No signed checkpoint covers the leaf yet: ask again after the next checkpoint.
        if (err instanceof NodeError && err.code === 'FAILED_PRECONDITION') {
          throw new ExplorerError('UNAVAILABLE', err.message, {
            cause: err,
            ...(err.retryAfterMs !== undefined && { retryAfterMs: err.retryAfterMs }),
          });
        }
        throw err;
      }
    },

    async audit(viewer, query, options = {}) {
      authorizeView('audit', viewer, c.node);
      if (c.audit === undefined) {
        throw new ExplorerError(
          'UNAVAILABLE',
          `${c.node.mspId}'s node has no p2p host (p2p.listen): it cannot fetch receipt bundles`,
        );
      }
      const audited = await unavailableOn(() => (c.audit as NonNullable<typeof c.audit>)(query, options));
      return { generatedAt: now().toISOString(), accesses: audited.map(accessView) };
    },
  };
}

/** How long one consortium view answers the requests after it: the chart moves by an anchor every few seconds. */
const CONSORTIUM_VIEW_MS = 5_000;

/**
 * `compute`'s answer, shared by every call while it runs and for `ttlMs` after it was made (by `clock`, in ms; a
 * clock set back before that makes it anew); a failure is not kept: the next call computes again.
 */
function sharedFor<T>(ttlMs: number, clock: () => number, compute: () => Promise<T>): () => Promise<T> {
  let last: { answer: Promise<T>; from: number; until: number } | undefined;
  return () => {
    const at = clock();
    if (last !== undefined && last.from <= at && at < last.until) return last.answer;
    const entry = { answer: compute(), from: -Infinity, until: Infinity };
    last = entry;
    entry.answer.then(
      () => {
        entry.from = clock();
        entry.until = entry.from + ttlMs;
      },
      () => {
        if (last === entry) last = undefined;
      },
    );
    return entry.answer;
  };
}

function institutionView(
  org: Organization,
  nodes: readonly { nodeId: string; origin: string; endpoint: string }[],
  keys: readonly PublicKeyRecord[],
  checkpoints: ReadonlyMap<string, AnchoredCheckpoint | undefined>,
): InstitutionView {
  return {
    mspId: org.mspId,
    name: org.name,
    city: org.city,
    role: org.role,
    status: org.status,
    nodes: nodes.map((n) => {
      const anchored = checkpoints.get(n.origin);
      return {
        nodeId: n.nodeId,
        origin: n.origin,
        endpoint: n.endpoint,
        checkpoint:
          anchored === undefined
            ? null
            : { size: Number(anchored.size), anchoredAt: anchored.anchoredAt, txId: anchored.txId },
      };
    }),
    keys: keys.map((k): KeyView => ({
      kid: k.kid,
      role: k.role,
      status: k.status,
      validFrom: k.validFrom,
      validUntil: k.validUntil,
    })),
  };
}

/** The UTC day of an RFC 3339 time. */
const dayOf = (time: string): string => new Date(time).toISOString().slice(0, 10);

function stageOf(
  leafIndex: number,
  anchoredSize: number,
  checkpointSize: number,
): 'logged' | 'checkpointed' | 'anchored' {
  if (leafIndex < anchoredSize) return 'anchored';
  return leafIndex < checkpointSize ? 'checkpointed' : 'logged';
}

/** The receipt the chain recorded and the audit's verdict: digests and names, no report content. */
function accessView(a: AuditedAccess): AccessView {
  const r = a.receipt;
  return {
    receiptDigest: r.receiptDigest,
    requester: r.requester,
    provider: r.provider,
    subject: r.subject,
    purpose: r.purpose,
    consentId: r.consentId,
    accessedAt: r.accessedAt,
    txId: r.txId,
    verdict: a.verdict,
    findings: a.findings.map((f) => ({
      code: f.code,
      reason: f.reason,
      ...(f.field !== undefined && { field: f.field }),
    })),
    bundleFrom: a.bundleFrom ?? null,
  };
}

/**
 * A state of the node that passes by itself (errors.ts unavailableOf: the ledger not answering, an index that may only
 * be behind the chain, a storage fault, the store reopening) is the explorer's UNAVAILABLE — never a NOT_FOUND, an
 * older version or a fault's 500; anything else is a fault.
 */
async function unavailableOn<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw unavailableOf(err) ?? err;
  }
}
