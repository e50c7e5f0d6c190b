/**
 * Key rotation as the institution's admin runs it on the node's host (DESIGN §3, §8), in two phases so that nothing
 * is ever signed by a key outside its window:
 *  1. the new key is generated where the private key lives (beside the configured key file, as `<file>.next`,
 *     0600, synced) and registered: RotateKeyWithOverlap opens the new key's window at its transaction time and keeps
 *     the old key's open a bounded overlap longer (default 300 s) — the node goes on signing with the old key meanwhile;
 *  2. once that has committed, `<file>.next` is copied over the configured file (synced, then renamed) and the
 *     running node is told to read its key files again (node/admin `POST /keys/reload`), then `<file>.next` is deleted.
 * The chain keeps the old public key with its window, so what it signed keeps verifying with any trust bundle
 * exported afterwards. A p2p rotation follows the same order with UpdateNode, and the node restarts its libp2p
 * host under the new peer ID (the registry has no windows for peer IDs: the exchange pauses for the switch).
 *
 * Every step can be re-run: an interrupted rotation leaves `<file>.next`, registered or not, and running it again
 * finishes that same rotation. A rotation the chain refuses leaves the node and its key file as they were. A node
 * whose key is no longer active (revoked after a compromise) gets the new key by RegisterKey instead: the recovery.
 */
import { access, constants, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { LianxinChain, NodeRecord, PublicKeyRecord } from '../ledger/index.ts';
import { writeDurably } from '../../network/fs/index.ts';
import { KeyRotationError } from './errors.ts';
import { keyFileOrNew, kidOfKey, P2P_KEY, readP2pKey, readPrivateKey, SIGNING_KEY, spkiOf } from './key-files.ts';

export type RotatedKind = 'log' | 'receipt' | 'p2p';

export interface RotationChain {
  readonly listKeys: LianxinChain['listKeys'];
  readonly registerKey: LianxinChain['registerKey'];
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
  /** Registered by RegisterKey, the key file's key being no longer active (revoked): no overlap, no successor. */
  readonly recovered?: boolean;
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
  const { keyFile, chain, mspId, kind } = options;
  const field = `keys.${kind}`;
  const current = await readPrivateKey(keyFile, field);
  await checkInstallable(keyFile);
  const next = await keyFileOrNew(nextKeyFile(keyFile), `${field} (pending)`, SIGNING_KEY, torn(nextKeyFile(keyFile)));
  const oldKid = kidOfKey(current);
  const newSpki = spkiOf(next);
  const newKid = kidOfKey(next);
  const keys = await chain.listKeys(mspId);
  const registeredNew = keys.find((k) => k.kid === newKid);
  if (registeredNew !== undefined && (registeredNew.role !== kind || registeredNew.status === 'revoked')) {
    throw new KeyRotationError(
      'REGISTRY_CONFLICT',
      `the pending key ${newKid} in ${nextKeyFile(keyFile)} is registered as a ${registeredNew.status} ` +
        `${registeredNew.role} key: remove ${nextKeyFile(keyFile)} and run again for a fresh key`,
    );
  }
  let validFrom = registeredNew?.validFrom;
  let recovered = false;
  if (registeredNew === undefined) {
    const old = keys.find((k) => k.kid === oldKid);
    if (old?.role !== kind) {
      throw new KeyRotationError(
        'KEY_NOT_REGISTERED',
        `the ${field} key ${oldKid} is not registered on chain as a ${kind} key of ${mspId}`,
      );
    }
    // The chain rotates only an active key; one revoked (or lost with its successor) leaves RegisterKey.
    recovered = !activeNow(old);
    const successor = recovered ? liveSuccessor(old, keys) : undefined;
    if (successor !== undefined) {
      // Its private key is not here (not `.next`): registering another key would leave it active, unended.
      throw new KeyRotationError(
        'REGISTRY_CONFLICT',
        `the ${field} key ${oldKid} was rotated to ${successor.kid}, which is ${successor.status} and whose private ` +
          `key is not in ${nextKeyFile(keyFile)}: revoke it (keys revoke --kid ${successor.kid} --force), then run again`,
      );
    }
    try {
      const registering = recovered
        ? chain.registerKey({ spki: newSpki, role: kind, suite: old.suite })
        : chain.rotateKeyWithOverlap(oldKid, newSpki, options.overlapSeconds);
      validFrom = (await registering).result.validFrom;
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
  try {
    await options.reloadNode();
  } catch (err) {
    // The old key signs on until the node switches, and only until its overlap ends: say until when.
    const old = (await chain.listKeys(mspId).catch(() => [])).find((k) => k.kid === oldKid);
    const signsWith = recovered
      ? `${oldKid}, no longer active: what it signs does not verify; fix that and run keys rotate again, or restart ` +
        'the node'
      : `${oldKid}, valid until ${old?.validUntil ?? 'unknown'}; before then, fix that and run keys rotate again, ` +
        'or restart the node';
    throw new KeyRotationError(
      'NODE_NOT_SWITCHED',
      `${keyFile} holds the new ${kind} key ${newKid}, but the running node did not switch to it ` +
        `(${(err as Error).message}): it signs with ${signsWith}`,
      { cause: err },
    );
  }
  await rm(nextKeyFile(keyFile), { force: true });
  return {
    kind,
    old: oldKid,
    new: newKid,
    ...(validFrom === undefined ? {} : { validFrom }),
    registered: registeredNew === undefined,
    ...(recovered ? { recovered } : {}),
  };
}

/** What `keyFileOrNew` says of a torn `.next`: written before its key could go on chain, so the chain never saw it. */
const torn = (file: string): string =>
  `a crash while it was written, before its key went on chain, leaves such a file; remove ${file} and run again`;

/**
 * The first key down `old`'s chain of successors (replacedBy) that is not revoked: one still valid, or still to be
 * ended, whose private key a recovery would leave behind.
 */
function liveSuccessor(old: PublicKeyRecord, keys: readonly PublicKeyRecord[]): PublicKeyRecord | undefined {
  const seen = new Set<string>();
  for (let kid = old.replacedBy; kid !== null && !seen.has(kid);) {
    seen.add(kid);
    const successor = keys.find((k) => k.kid === kid);
    if (successor === undefined) return undefined;
    if (successor.status !== 'revoked') return successor;
    kid = successor.replacedBy;
  }
  return undefined;
}

/** Active and inside its window by this host's clock: a key the node could sign with. */
const activeNow = (key: PublicKeyRecord): boolean =>
  key.status === 'active' &&
  Date.parse(key.validFrom) <= Date.now() &&
  (key.validUntil === null || Date.parse(key.validUntil) > Date.now());

/**
 * A new libp2p identity: the node's registration on chain takes the new peer ID (UpdateNode, same endpoint and
 * addresses); once that has committed the key file is replaced and the running node told to reload, which restarts
 * its libp2p host under the new peer ID (gRPC and anchoring are not affected). Other nodes admit the new peer ID
 * when they see the registry event.
 */
async function rotateP2pKey(options: Readonly<RotateOptions>): Promise<RotationResult> {
  const { keyFile, chain, mspId, origin } = options;
  const current = await readP2pKey(keyFile, 'keys.p2p');
  await checkInstallable(keyFile);
  const pending = nextKeyFile(keyFile);
  const next = await keyFileOrNew(pending, 'keys.p2p (pending)', P2P_KEY, torn(pending));
  const oldPeerId = peerIdFromPrivateKey(current).toString();
  const newPeerId = peerIdFromPrivateKey(next).toString();
  const node: NodeRecord | undefined = (await chain.listNodes(mspId)).find((n) => n.origin === origin);
  if (node === undefined) {
    throw new KeyRotationError('NODE_NOT_REGISTERED', `no node of ${mspId} is registered with log origin ${origin}`);
  }
  if (node.peerId !== oldPeerId && node.peerId !== newPeerId) {
    throw new KeyRotationError(
      'REGISTRY_CONFLICT',
      `node ${node.nodeId} of ${mspId} is registered with peer ID ${node.peerId}, neither keys.p2p's ${oldPeerId} ` +
        `nor the pending ${newPeerId}: keys.p2p is not this node's registered key`,
    );
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

/**
 * Refuses, before anything goes on chain, a rotation whose install would fail after the chain committed it: only root
 * can give the new key file another user's ownership, and the key file's directory takes the new file.
 * @throws KeyRotationError `FILE_ERROR` naming the key file and the user to run as.
 */
export async function checkInstallable(keyFile: string, uid = process.getuid?.()): Promise<void> {
  const { uid: owner } = await stat(keyFile);
  if (uid !== undefined && uid !== 0 && uid !== owner) {
    throw new KeyRotationError(
      'FILE_ERROR',
      `${keyFile} is owned by uid ${owner}, and this runs as uid ${uid}: the new key file could not be given its ` +
        'owner; run keys rotate as the user the node runs as, or as root',
    );
  }
  try {
    await access(dirname(keyFile), constants.W_OK);
  } catch (err) {
    throw new KeyRotationError(
      'FILE_ERROR',
      `the new key cannot be written beside ${keyFile}: ${(err as Error).message}; run keys rotate as the user ` +
        'the node runs as',
      { cause: err },
    );
  }
}

/**
 * Copies `next` over the key file, keeping `next`: written beside it (synced; run as root, given the key file's
 * owner, group and mode — a rotation run as root must not leave the node a key file it cannot read; run as its
 * owner, 0600, the group then irrelevant), then renamed over it — rename(2) replaces the configured file
 * atomically, so a reader sees the old key or the new, never a mix — and the rename synced before `next` can go.
 */
async function install(next: string, keyFile: string): Promise<void> {
  const bytes = await readFile(next);
  try {
    // A mode readKeyFile took: 0600, or 0640/0440 owned by root.
    const kept = process.getuid?.() === 0 ? await stat(keyFile) : undefined;
    await writeDurably(keyFile, (handle) => handle.writeFile(bytes), {
      replace: true,
      ...(kept && { mode: kept.mode & 0o777, owner: { uid: kept.uid, gid: kept.gid } }),
    });
  } catch (err) {
    throw new KeyRotationError('FILE_ERROR', `cannot install ${next} as ${keyFile}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
