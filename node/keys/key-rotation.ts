/**
 * Key rotation as the institution's admin runs it on the node's host (DESIGN §3, §8), in two phases so that nothing
 * is ever signed by a key outside its window:
 *  1. the new key is generated where the private key lives (beside the configured key file, as `<file>.next`,
 *     0600) and registered: RotateKeyWithOverlap opens the new key's window at its transaction time and keeps the
 *     old key's open a bounded overlap longer (default 300 s) — the node goes on signing with the old key meanwhile;
 *  2. once that has committed, `<file>.next` is copied over the configured file and the running node is told to
 *     read its key files again (node/admin `POST /keys/reload`), then `<file>.next` is deleted.
 * The chain keeps the old public key with its window, so what it signed keeps verifying with any trust bundle
 * exported afterwards. A p2p rotation follows the same order with UpdateNode, and the node restarts its libp2p
 * host under the new peer ID (the registry has no windows for peer IDs: the exchange pauses for the switch).
 *
 * Every step can be re-run: an interrupted rotation leaves `<file>.next`, registered or not, and running it again
 * finishes that same rotation. A rotation the chain refuses leaves the node and its key file as they were.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { sha256Hex } from '../../network/crypto/index.ts';
import type { LianxinChain, NodeRecord } from '../ledger/index.ts';
import { KeyRotationError } from './errors.ts';
import { readPrivateKey } from './live-keys.ts';

export type RotatedKind = 'log' | 'receipt' | 'p2p';

export interface RotationChain {
  readonly listKeys: LianxinChain['listKeys'];
  readonly rotateKeyWithOverlap: LianxinChain['rotateKeyWithOverlap'];
  readonly listNodes: LianxinChain['listNodes'];
  readonly updateNode: LianxinChain['updateNode'];
}

export interface RotateOptions {
  readonly kind: RotatedKind;
  /** The configured key file (node.yaml keys.<kind>). */
  readonly keyFile: string;
  readonly mspId: string;
  /** The node's log origin: which registered node's peer ID a p2p rotation changes. */
  readonly origin: string;
  /** The chain as the organisation's admin. */
  readonly chain: RotationChain;
  /** Tells the running node to read its key files again; a no-op when none runs. */
  readonly reloadNode: () => Promise<void>;
  /** How long the old log or receipt key stays valid after the rotation commits; undefined: the chain's 300 s. */
  readonly overlapSeconds?: number;
}

export interface RotationResult {
  readonly kind: RotatedKind;
  /** kid (log, receipt) or peer ID (p2p) before and after. */
  readonly old: string;
  readonly new: string;
  /** When the new key's window opened (log, receipt). */
  readonly validFrom?: string;
  /** Whether this run registered the key (false: an earlier, interrupted run had). */
  readonly registered: boolean;
}

/** `<file>.next`: the key being rotated in. */
export const nextKeyFile = (keyFile: string): string => `${keyFile}.next`;

/**
 * Rotates one of the node's keys: generate (or take the pending `.next`), register on chain, install.
 * @throws KeyRotationError; a ChainError from the chain passes through.
 */
export async function rotateNodeKey(options: Readonly<RotateOptions>): Promise<RotationResult> {
  return options.kind === 'p2p' ? rotateP2pKey(options) : rotateSigningKey(options);
}

async function rotateSigningKey(options: Readonly<RotateOptions>): Promise<RotationResult> {
  const { keyFile, chain, mspId } = options;
  const field = `keys.${options.kind}`;
  const current = await readPrivateKey(keyFile, field);
  const next = await pendingOrNew(
    nextKeyFile(keyFile),
    async (file) => readPrivateKey(file, `${field} (pending)`),
    () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return { key: privateKey, bytes: Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
    },
  );
  const oldKid = kidOfKey(current);
  const newSpki = spkiOf(next);
  const newKid = sha256Hex(Buffer.from(newSpki, 'base64'));
  const keys = await chain.listKeys(mspId);
  const registeredNew = keys.find((k) => k.kid === newKid);
  let validFrom = registeredNew?.validFrom;
  if (registeredNew === undefined) {
    const old = keys.find((k) => k.kid === oldKid);
    if (old?.role !== options.kind) {
      throw new KeyRotationError(
        'KEY_NOT_REGISTERED',
        `the ${field} key ${oldKid} is not registered on chain as a ${options.kind} key of ${mspId}`,
      );
    }
    try {
      validFrom = (await chain.rotateKeyWithOverlap(oldKid, newSpki, options.overlapSeconds)).result.validFrom;
    } catch (err) {
      // Committed all the same (an answer lost on the way)? Then go on; else the new key stays pending in `.next`.
      const registered = (await chain.listKeys(mspId).catch(() => [])).find((k) => k.kid === newKid);
      if (registered === undefined) throw err;
      validFrom = registered.validFrom;
    }
  }
  // Only now, with the new key's window open on chain, does the node switch: what it signed with the old key while
  // RotateKeyWithOverlap was ordered and committed, and until this reload, falls inside the old key's overlap.
  // `.next` is removed last, so a run interrupted here finds it again and only repeats the switch.
  await install(nextKeyFile(keyFile), keyFile);
  await options.reloadNode();
  await rm(nextKeyFile(keyFile), { force: true });
  return {
    kind: options.kind,
    old: oldKid,
    new: newKid,
    ...(validFrom === undefined ? {} : { validFrom }),
    registered: registeredNew === undefined,
  };
}

/**
 * A new libp2p identity: the node's registration on chain takes the new peer ID (UpdateNode, same endpoint and
 * addresses); once that has committed the key file is replaced and the running node told to reload, which restarts
 * its libp2p host under the new peer ID (gRPC and anchoring are not affected). Other nodes admit the new peer ID
 * when they see the registry event.
 */
async function rotateP2pKey(options: Readonly<RotateOptions>): Promise<RotationResult> {
  const { keyFile, chain, mspId, origin } = options;
  const current = await readP2pKey(keyFile, 'keys.p2p');
  const next = await pendingOrNew(
    nextKeyFile(keyFile),
    (file) => readP2pKey(file, 'keys.p2p (pending)'),
    async () => {
      const key = await generateKeyPair('Ed25519');
      return { key, bytes: Buffer.from(privateKeyToProtobuf(key)) };
    },
  );
  const oldPeerId = peerIdFromPrivateKey(current).toString();
  const newPeerId = peerIdFromPrivateKey(next).toString();
  const node: NodeRecord | undefined = (await chain.listNodes(mspId)).find((n) => n.origin === origin);
  if (node === undefined) {
    throw new KeyRotationError('NODE_NOT_REGISTERED', `no node of ${mspId} is registered with log origin ${origin}`);
  }
  const registered = node.peerId !== newPeerId;
  if (registered) {
    await chain.updateNode({
      nodeId: node.nodeId,
      endpoint: node.endpoint,
      peerId: newPeerId,
      addresses: node.addresses,
    });
  }
  await install(nextKeyFile(keyFile), keyFile);
  await options.reloadNode();
  await rm(nextKeyFile(keyFile), { force: true });
  return { kind: 'p2p', old: oldPeerId, new: newPeerId, registered };
}

/** The pending key of an interrupted rotation, or a new one written there (never replacing a file). */
async function pendingOrNew<K>(
  file: string,
  read: (file: string) => Promise<K>,
  generate: () => { key: K; bytes: Buffer } | Promise<{ key: K; bytes: Buffer }>,
): Promise<K> {
  try {
    return await read(file);
  } catch (err) {
    if ((err as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw err;
  }
  const { key, bytes } = await generate();
  await writeKeyFile(file, bytes);
  return key;
}

/** 0600, never replacing a file. */
async function writeKeyFile(file: string, bytes: Buffer): Promise<void> {
  try {
    await writeFile(file, bytes, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new KeyRotationError('FILE_ERROR', `cannot write the key file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Copies `next` over the key file, keeping `next`: written beside it (0600), then renamed over it — rename(2)
 * replaces the configured file atomically, so a reader sees the old key or the new, never a mix.
 */
async function install(next: string, keyFile: string): Promise<void> {
  const staging = `${keyFile}.staging`;
  await rm(staging, { force: true });
  await writeKeyFile(staging, await readFile(next));
  await move(staging, keyFile);
}

async function move(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    throw new KeyRotationError('FILE_ERROR', `cannot move ${from} over ${to}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function readP2pKey(file: string, field: string) {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new KeyRotationError('KEY_INVALID', `"${field}" ${file} cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new KeyRotationError('KEY_INVALID', `"${field}" ${file} does not hold a libp2p private key`, { cause: err });
  }
}

const spkiOf = (key: KeyObject): string =>
  createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');

const kidOfKey = (key: KeyObject): string => sha256Hex(Buffer.from(spkiOf(key), 'base64'));
