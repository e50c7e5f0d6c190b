/**
 * The node's registry reads for the report exchange, and the trust bundle built from each: the gater's view
 * (`startReportExchange` replaces it with every snapshot read here) and the attestation checks follow the same
 * rows, so a key registered or revoked since start is trusted or refused by both.
 *
 * Invariant: a snapshot the chain returned is always handed on, whatever the bundle makes of it. The bundle
 * reader refuses rows the chain may hold (review6 C1: one such row made every refresh throw, and peer admission
 * and revocations stopped following the chain); attestations then keep the last bundle built.
 */
import type { LianxinChain, RegistrySnapshot } from '../ledger/index.ts';
import {
  buildTrustBundle,
  parseTrustBundle,
  verifyAttestation,
  type AttestationVerification,
  type TrustBundle,
} from '../receipts/index.ts';

export interface RegistryTrustComponents {
  readonly chain: Pick<LianxinChain, 'registrySnapshot'>;
  /** The channel the bundle names. */
  readonly channel: string;
  /** The chain did not answer the node's first read: nobody is admitted until a later read succeeds. */
  readonly onUnread: (error: unknown) => void;
  /** The registry's rows make no trust bundle: attestations use the last one built. */
  readonly onBundleRefused: (error: unknown) => void;
}

export interface RegistryTrust {
  /**
   * Reads the registry from the chain and rebuilds the trust bundle from it. The first read, the node's start,
   * gives an empty registry when it fails (the node starts, admitting nobody); every later failed read throws, so
   * that the caller keeps its last view and its retry runs: the registry follower's `opened` failing keeps it
   * unfollowed, and then the upkeep reads again each interval and the follower at each reopen (review29 C2: an
   * empty answer instead counted as read, the follower set `following`, and nobody read again until a registry
   * change — the node admitted no peer for days).
   */
  readonly registrySnapshot: () => Promise<RegistrySnapshot>;
  /** Verifies an attestation with the last bundle built. */
  readonly verifyAttestation: (attestation: Uint8Array) => AttestationVerification;
}

/** A registry with nobody in it: what the node admits over p2p until it has read the chain's. */
const EMPTY_REGISTRY: RegistrySnapshot = { organizations: [], keys: [], nodes: [] };

export function registryTrust(c: Readonly<RegistryTrustComponents>): RegistryTrust {
  let bundle: TrustBundle | undefined;
  let firstRead = true;
  const rebuildBundle = (snapshot: RegistrySnapshot): void => {
    try {
      bundle = parseTrustBundle(
        buildTrustBundle({
          channel: c.channel,
          exportedAt: new Date(),
          ...snapshot,
          // Attestations are verified by keys and origins; CA certificates are for offline verifiers.
          certificates: [],
        }),
      );
    } catch (err) {
      c.onBundleRefused(err);
    }
  };
  return {
    registrySnapshot: async () => {
      const first = firstRead;
      firstRead = false;
      let snapshot: RegistrySnapshot;
      try {
        snapshot = await c.chain.registrySnapshot();
      } catch (err) {
        if (!first) throw err;
        c.onUnread(err);
        return EMPTY_REGISTRY;
      }
      rebuildBundle(snapshot);
      return snapshot;
    },
    verifyAttestation: (attestation) =>
      bundle === undefined
        ? { ok: false, code: 'UNKNOWN_ISSUER', reason: 'the node has no trust bundle from the registry yet' }
        : verifyAttestation(attestation, bundle),
  };
}
