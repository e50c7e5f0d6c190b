/**
 * The node's own keys, one per role (DESIGN §3): the log key signs checkpoints, the receipt key attestations,
 * the p2p key is its libp2p identity. Created once, kept 0600, never overwritten.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';

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

/** Loads the node's keys from `dir`, creating any that are missing. */
export async function ensureNodeKeys(dir: string): Promise<NodeKeys> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files: NodeKeyFiles = {
    log: join(dir, 'log.key'),
    receipt: join(dir, 'receipt.key'),
    p2p: join(dir, 'p2p.key'),
  };
  const [log, receipt] = await Promise.all([ensureP256Key(files.log), ensureP256Key(files.receipt)]);
  const p2p = await ensureP2pKey(files.p2p);
  return {
    files,
    logSpki: spkiBase64(log),
    receiptSpki: spkiBase64(receipt),
    peerId: peerIdFromPrivateKey(p2p).toString(),
  };
}

async function ensureP256Key(file: string): Promise<KeyObject> {
  const existing = await readIfPresent(file);
  if (existing) return createPrivateKey(existing);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeNew(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return privateKey;
}

async function ensureP2pKey(file: string) {
  const existing = await readIfPresent(file);
  if (existing) return privateKeyFromProtobuf(existing);
  const key = await generateKeyPair('Ed25519');
  await writeNew(file, privateKeyToProtobuf(key));
  return key;
}

const spkiBase64 = (key: KeyObject): string =>
  createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');

async function readIfPresent(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** `wx`: never replaces a key another process wrote meanwhile. */
function writeNew(file: string, data: string | Uint8Array): Promise<void> {
  return writeFile(file, data, { mode: 0o600, flag: 'wx' });
}
