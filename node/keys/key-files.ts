/**
 * The node's key files, read and written one way on every path (start, reload, rotation, bootstrap). A key file is
 * private (network/fs readPrivateFile: its owner's alone, or root's and its group's to read — it signs the node's
 * checkpoints and attestations), holds exactly one key, and is on the disk — its directory entry too — before its
 * public key goes on chain: a key the chain lists whose private key a power loss took would leave the node unable to
 * sign anything valid.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { kidOf } from '../../chaincode/src/protocol.ts';
import { ExposedFileError, readPrivateFile, writeDurably } from '../../network/fs/index.ts';
import { pemKeyBlocks } from '../../network/pki/index.ts';
import { KeyRotationError } from './errors.ts';

/**
 * The file's bytes, once it is known to be private.
 * @throws KeyRotationError `KEY_INVALID` naming the field and the file (the system error as `cause` when unreadable).
 */
export async function readKeyFile(file: string, field: string): Promise<Buffer> {
  try {
    return await readPrivateFile(file);
  } catch (err) {
    const problem = err instanceof ExposedFileError ? err.message : `${file} cannot be read: ${(err as Error).message}`;
    throw new KeyRotationError('KEY_INVALID', `"${field}" ${problem}`, { cause: err });
  }
}

/** @throws Error when `pem` is not exactly one PEM private key (pemKeyBlocks) of ECDSA P-256. */
function parseSigningKey(pem: Buffer): KeyObject {
  const blocks = pemKeyBlocks(pem);
  if (blocks !== 1) throw new Error(`${blocks} PEM blocks, not one`);
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not an ECDSA P-256 key');
  return key;
}

/** A kind of key file: how its bytes parse, how a new key is made, and what the file holds (for messages). */
export interface KeyKind<K> {
  /** @throws Error saying why the bytes are no such key. */
  readonly parse: (bytes: Buffer) => K;
  readonly generate: () => NewKey<K> | Promise<NewKey<K>>;
  readonly holds: string;
}

/**
 * Parses a key file's bytes.
 * @throws KeyRotationError `KEY_INVALID` naming the field and the file, and, when given, what to do with a file
 * there that holds no usable key (`unusable`, which only the caller knows).
 */
function parseKeyFile<K>(bytes: Buffer, file: string, field: string, kind: KeyKind<K>, unusable?: string): K {
  try {
    return kind.parse(bytes);
  } catch (err) {
    const why = (err as Error).message;
    throw new KeyRotationError(
      'KEY_INVALID',
      unusable === undefined
        ? `"${field}" ${file} does not hold ${kind.holds}: ${why}`
        : `"${field}" ${file} holds no usable key (${why}): ${unusable}`,
      { cause: err },
    );
  }
}

/** @throws KeyRotationError `KEY_INVALID` naming the field and the file unless it holds a key of `kind`. */
async function readKey<K>(file: string, field: string, kind: KeyKind<K>): Promise<K> {
  return parseKeyFile(await readKeyFile(file, field), file, field, kind);
}

/**
 * A new key file: 0600, never replacing a file, its bytes and its directory entry synced before this resolves (a
 * crash leaves no key file, or the whole one). A write that fails leaves no file. On a file system without hard links
 * (Azure Files in AKS) it is written in place, as the node wrote every key before: a crash there may leave a torn
 * file, which holds no usable key and whose public key never went on chain (that waits for this to resolve).
 * @throws KeyRotationError `FILE_ERROR` naming the file.
 */
export async function writeKeyFile(file: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeDurably(file, (handle) => handle.writeFile(bytes), { inPlaceWithoutHardLinks: true });
  } catch (err) {
    throw new KeyRotationError('FILE_ERROR', `cannot write the key file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** A key and the bytes of its file. */
export interface NewKey<K> {
  readonly key: K;
  readonly bytes: Uint8Array;
}

/** A new ECDSA P-256 signing key, PKCS#8 PEM. */
export function newSigningKey(): NewKey<KeyObject> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { key: privateKey, bytes: Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
}

/** A new libp2p identity: Ed25519, protobuf-encoded. */
export async function newP2pKey(): Promise<NewKey<PrivateKey>> {
  const key = await generateKeyPair('Ed25519');
  return { key, bytes: privateKeyToProtobuf(key) };
}

/** The log's and receipts' signing keys: PKCS#8 (or SEC1) PEM, ECDSA P-256. */
export const SIGNING_KEY: KeyKind<KeyObject> = {
  parse: parseSigningKey,
  generate: newSigningKey,
  holds: 'one ECDSA P-256 PEM private key',
};

/** The node's libp2p identity. */
export const P2P_KEY: KeyKind<PrivateKey> = {
  parse: privateKeyFromProtobuf,
  generate: newP2pKey,
  holds: 'a libp2p private key',
};

/** @throws KeyRotationError `KEY_INVALID` naming the field and the file unless it holds one ECDSA P-256 key. */
export const readPrivateKey = (file: string, field: string): Promise<KeyObject> => readKey(file, field, SIGNING_KEY);
/** @throws KeyRotationError `KEY_INVALID` naming the field and the file unless it holds a libp2p private key. */
export const readP2pKey = (file: string, field: string): Promise<PrivateKey> => readKey(file, field, P2P_KEY);

/**
 * The key in `file`, or a new one written there (never replacing a file) and on the disk before this resolves —
 * before its public key can go on chain. A file there that holds no usable key is never replaced: `unusable` tells
 * the operator what to do with it (only the caller knows whether the chain may have seen its key).
 * @throws KeyRotationError `KEY_INVALID` naming the field and the file, `FILE_ERROR` when it cannot be written.
 */
export async function keyFileOrNew<K>(file: string, field: string, kind: KeyKind<K>, unusable: string): Promise<K> {
  let bytes: Buffer;
  try {
    bytes = await readKeyFile(file, field);
  } catch (err) {
    if ((err as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw err;
    const created = await kind.generate();
    await writeKeyFile(file, created.bytes);
    return created.key;
  }
  return parseKeyFile(bytes, file, field, kind, unusable);
}

/** Base64 SPKI DER of a P-256 public key, as the registry takes it. */
export const spkiOf = (key: KeyObject): string =>
  createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');

/** The registry's key ID of a key (the chaincode's kidOf: SHA-256 of the SPKI DER, hex). */
export const kidOfKey = (key: KeyObject): string => kidOf(createPublicKey(key).export({ type: 'spki', format: 'der' }));
