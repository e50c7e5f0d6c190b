/**
 * `lianxin keys rotate --kind log|receipt|p2p` and `lianxin keys revoke --kid <kid>`, run by the institution's
 * admin on the node's host (node/keys key-rotation.ts): the new key is generated beside the key file and registered
 * on chain first (RotateKeyWithOverlap, UpdateNode), then installed and the running node switched over its admin
 * socket — no restart of the node for any kind.
 */
import type { ReloadedKeys } from '../../admin/index.ts';
import type { RotatedKind } from '../../keys/index.ts';
import { subcommand, type CommandDefinition } from '../command.ts';
import { CliError } from '../errors.ts';

const KINDS: readonly RotatedKind[] = ['log', 'receipt', 'p2p'];

const ROTATE = `Rotates one of the node's keys, in two phases. First the chain registers the new key, generated
beside the configured key file (node.yaml keys.<kind>) as <file>.next: RotateKeyWithOverlap, as the organisation's
admin, opens the new key's validity window at its transaction time and keeps the old key's open --overlap seconds
longer (default 300, from 30 to 86400), so that what the node signs with the old key until it switches still verifies.
Once that has committed, the new key is moved over the key file and the running node switches to it through its
admin socket, without a restart. If the chain refuses, nothing changes. A key file whose key is no longer active
(revoked with keys revoke --force after a compromise) gets a fresh key by RegisterKey instead, with no overlap: the
way back for a node left with no valid key. The old public key stays in the registry
with its window, so checkpoints, attestations and receipts it signed keep verifying offline with a trust bundle
exported afterwards. A p2p rotation registers the new libp2p peer ID (UpdateNode) and the node restarts its libp2p
host under it: the report exchange pauses for a moment (exchanges in flight finish first), gRPC is not affected, and
the other nodes admit the new peer ID as soon as they see the registry change. Interrupted, it can be run again: it
finishes the same rotation.`;

const REVOKE = `Revokes one of the organisation's registered keys (RevokeKey, as its admin): its window ends now. A
revoked log key no longer vouches for its checkpoints in attestations issued afterwards. The key the node signs with
(the key file's keys.log or keys.receipt) is refused unless --force: what the node signs with it afterwards fails
KEY_REVOKED. For a compromised key, revoke it with --force, then run keys rotate for its kind, which registers a
fresh key (RegisterKey) and switches the node to it.`;

/** The shortest --overlap: long enough for the running node to see the commit and switch keys (README). */
const MIN_OVERLAP_SECONDS = 30;

export const keysCommand: CommandDefinition = (parent, io) => {
  const keys = subcommand(parent, 'keys', 'keys rotate | revoke: the node keys on chain', ROTATE);
  subcommand(keys, 'rotate', 'rotate the log, receipt or p2p key without downtime', ROTATE)
    .requiredOption('--kind <kind>', 'log, receipt or p2p')
    .requiredOption('--config <file>', "the node's configuration (node.yaml)")
    .requiredOption('--admin-msp-dir <dir>', "the organisation admin's MSP folder (signs RotateKey)")
    .option(
      '--overlap <seconds>',
      `how long the old log or receipt key stays valid after the rotation (${MIN_OVERLAP_SECONDS}–86400)`,
    )
    .action(async (options: { kind: string; config: string; adminMspDir: string; overlap?: string }) => {
      if (!(KINDS as readonly string[]).includes(options.kind)) {
        throw new CliError('USAGE', `--kind must be one of ${KINDS.join(', ')}, got ${JSON.stringify(options.kind)}`);
      }
      const overlapSeconds = parseOverlap(options.overlap);
      const kind = options.kind as RotatedKind;
      const [{ adminSocketPath }, { rotateNodeKey }, { operatorError, readNodeConfig, withAdminChain }] =
        await Promise.all([import('../../admin/index.ts'), import('../../keys/index.ts'), import('../node-admin.ts')]);
      const config = await readNodeConfig(options.config, io);
      const keyFile = config.keys[kind];
      if (keyFile === undefined) throw new CliError('CONFIGURATION', `${options.config} names no keys.${kind} file`);
      const origin = `lianxin/${config.mspId}/${config.shard}`;
      const socket = adminSocketPath(config.dataDir);
      // What the running node said it signs with after the last reload; undefined when no node runs.
      let signing: ReloadedKeys | undefined;
      const reloadNode = async () => {
        signing = await reloadIfRunning(socket);
      };
      try {
        const result = await withAdminChain(config, options.adminMspDir, (chain) =>
          rotateNodeKey({
            kind,
            keyFile,
            mspId: config.mspId,
            origin,
            chain,
            reloadNode,
            ...(overlapSeconds === undefined ? {} : { overlapSeconds }),
          }),
        );
        io.stdout.write(
          `rotated the ${kind} key of ${config.mspId}: ${result.old} → ${result.new}` +
            (result.validFrom ? ` (valid from ${result.validFrom})` : '') +
            (result.registered ? '' : ' (already registered by an earlier run)') +
            (result.recovered ? ` (registered afresh: ${result.old} is no longer active)` : '') +
            '\n',
        );
        if (signing === undefined) {
          io.stdout.write('the node is not running: it uses the new key when it starts\n');
          return;
        }
        const now = kind === 'log' ? signing.logKid : kind === 'receipt' ? signing.receiptKid : signing.peerId;
        if (kind === 'p2p' && now === undefined) {
          io.stdout.write('the running node serves no report exchange: it uses the new peer ID when it does\n');
          return;
        }
        if (now !== result.new) {
          throw new CliError(
            'NODE_ERROR',
            `the node reloaded its keys but uses ${kind} key ${String(now)}, not ${result.new}`,
          );
        }
        io.stdout.write(
          kind === 'p2p'
            ? 'the running node serves the report exchange under the new peer ID\n'
            : `the running node signs with the new ${kind} key\n`,
        );
      } catch (err) {
        throw operatorError(err);
      }
    });
  subcommand(keys, 'revoke', 'revoke a registered key now', REVOKE)
    .requiredOption('--kid <kid>', 'the key ID (64 hex digits)')
    .requiredOption('--config <file>', "the node's configuration (node.yaml)")
    .requiredOption('--admin-msp-dir <dir>', "the organisation admin's MSP folder (signs RevokeKey)")
    .option('--force', 'revoke even the key the node signs with (a compromised key: run keys rotate after)')
    .action(async (options: { kid: string; config: string; adminMspDir: string; force?: true }) => {
      if (!/^[0-9a-f]{64}$/.test(options.kid)) {
        throw new CliError('USAGE', '--kid must be a key ID: 64 lower-case hex digits');
      }
      const { readNodeConfig, withAdminChain } = await import('../node-admin.ts');
      const config = await readNodeConfig(options.config, io);
      if (options.force !== true) await refuseSigningKey(options.kid, config.keys);
      const { result } = await withAdminChain(config, options.adminMspDir, (chain) => chain.revokeKey(options.kid));
      io.stdout.write(
        `revoked ${result.role} key ${result.kid} of ${result.mspId}; valid until ${String(result.validUntil)}\n`,
      );
      // A running node reads the revoked keys again with its key files: its attestations stop proving against
      // checkpoints the key signed now, not at its next periodic read.
      const { adminSocketPath } = await import('../../admin/index.ts');
      let reloaded: ReloadedKeys | undefined;
      try {
        reloaded = await reloadIfRunning(adminSocketPath(config.dataDir));
      } catch (err) {
        throw new CliError(
          'NODE_ERROR',
          `revoked ${result.kid}, but the running node did not reload (${(err as Error).message}): it reads the ` +
            'revoked keys within a minute',
          { cause: err },
        );
      }
      if (reloaded !== undefined) io.stdout.write('the running node has read the revoked keys\n');
    });
};

/**
 * `--overlap`: whole seconds, 30 to a day (the chain checks the day); undefined leaves the chain's default. Less
 * than the node needs to see the commit and switch would leave what it signs meanwhile outside every window.
 */
function parseOverlap(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d{0,5}$/.test(value) || Number(value) < MIN_OVERLAP_SECONDS || Number(value) > 86_400) {
    throw new CliError(
      'USAGE',
      `--overlap must be whole seconds from ${MIN_OVERLAP_SECONDS} to 86400, got ${JSON.stringify(value)}: the ` +
        'running node signs with the old key until it has switched (for a compromised key: keys revoke --force)',
    );
  }
  return Number(value);
}

/**
 * Refuses to revoke the key a key file holds: the node signs with what its key files hold (a running node switches
 * to them on every reload, so its admin socket would answer the same kid).
 * @throws CliError `USAGE` naming the key file and the way to revoke it all the same.
 */
async function refuseSigningKey(kid: string, files: { readonly log: string; readonly receipt: string }): Promise<void> {
  const { kidOfKey, readPrivateKey } = await import('../../keys/index.ts');
  for (const kind of ['log', 'receipt'] as const) {
    const field = `keys.${kind}`;
    let signing: string;
    try {
      signing = kidOfKey(await readPrivateKey(files[kind], field));
    } catch (err) {
      throw new CliError('FILE_ERROR', `${(err as Error).message} (to revoke without this check: --force)`, {
        cause: err,
      });
    }
    if (signing !== kid) continue;
    throw new CliError(
      'USAGE',
      `--kid ${kid} is the ${kind} key the node signs with (${field} ${files[kind]}): revoked, what the node ` +
        `signs with it afterwards fails KEY_REVOKED. Rotate it instead (keys rotate --kind ${kind}); for a ` +
        `compromised key, revoke with --force, then keys rotate --kind ${kind} registers a fresh key`,
    );
  }
}

/** Tells the running node to read its key files again; undefined when no node runs there. */
async function reloadIfRunning(socket: string): Promise<ReloadedKeys | undefined> {
  const { AdminError, requestKeyReload } = await import('../../admin/index.ts');
  try {
    return await requestKeyReload(socket);
  } catch (err) {
    if (err instanceof AdminError && err.code === 'NODE_NOT_RUNNING') return undefined;
    throw err;
  }
}
