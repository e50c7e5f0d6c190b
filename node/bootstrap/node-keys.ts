/**
 * The node's own keys, one per role (DESIGN §3): the log key signs checkpoints, the receipt key attestations,
 * the p2p key is its libp2p identity. Created once, kept 0600, never overwritten; read and written as node/keys
 * reads and writes every key file (the owner's alone, one key, on the disk before its public key goes on chain).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { keyFileOrNew, P2P_KEY, SIGNING_KEY, spkiOf } from '../keys/index.ts';

export interface NodeKeyFiles {
  /** PKCS#8 PEM, ECDSA P-256. */
  readonly log: string;
  readonly receipt: string;
  /** libp2p protobuf-encoded Ed25519 private key. */
  readonly p2p: string;
}

export interface NodeKeys {
  readonly files: NodeKeyFiles;
  /** Base64 SPKI DER of the log and receipt public keys, as the registry takes them. */
  readonly logSpki: string;
  readonly receiptSpki: string;
  readonly peerId: string;
}

/**
 * What to do with a key file bootstrap cannot use. Its key may be the one the chain lists for this node: a fresh key
 * in its place would be a second active key of its role, and the old one's holder unknown — so no "remove it".
 */
const UNUSABLE =
  'bootstrap never replaces a key file, whose public key may be registered on chain: restore it from its backup; ' +
  'if the organisation has no registered key of this role (the chain lists it with its kid), move it away and run again';

/** Loads the node's keys from `dir`, creating any that are missing. */
export async function ensureNodeKeys(dir: string): Promise<NodeKeys> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files: NodeKeyFiles = {
    log: join(dir, 'log.key'),
    receipt: join(dir, 'receipt.key'),
    p2p: join(dir, 'p2p.key'),
  };
  const [log, receipt, p2p] = await Promise.all([
    keyFileOrNew(files.log, 'keys.log', SIGNING_KEY, UNUSABLE),
    keyFileOrNew(files.receipt, 'keys.receipt', SIGNING_KEY, UNUSABLE),
    keyFileOrNew(files.p2p, 'keys.p2p', P2P_KEY, UNUSABLE),
  ]);
  return {
    files,
    logSpki: spkiOf(log),
    receiptSpki: spkiOf(receipt),
    peerId: peerIdFromPrivateKey(p2p).toString(),
  };
}
