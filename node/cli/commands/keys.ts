/**
 * `lianxin keys rotate --kind log|receipt|p2p` and `lianxin keys revoke --kid <kid>`, run by the institution's
 * admin on the node's host (node/keys key-rotation.ts: generate beside the key file, install, the running node
 * registered on chain first (RotateKeyWithOverlap, UpdateNode), then installed and the running node switched over its
 * admin socket — no restart of the node for any kind).
 */
import type { ReloadedKeys } from '../../admin/index.ts';
import type { RotatedKind } from '../../keys/index.ts';
import { subcommand, type CommandDefinition } from '../command.ts';
import { CliError } from '../errors.ts';

const KINDS: readonly RotatedKind[] = ['log', 'receipt', 'p2p'];

const ROTATE = `Rotates one of the node's keys, in two phases. First the chain registers the new key, generated
beside the configured key file (node.yaml keys.<kind>) as <file>.next: RotateKeyWithOverlap, as the organisation's
admin, opens the new key's validity window at its transaction time and keeps the old key's open --overlap seconds
longer (default 300, at most 86400), so that what the node signs with the old key until it switches still verifies.
Once that has committed, the new key is moved over the key file and the running node switches to it through its
admin socket, without a restart. If the chain refuses, nothing changes. The old public key stays in the registry
with its window, so checkpoints, attestations and receipts it signed keep verifying offline with a trust bundle
exported afterwards. A p2p rotation registers the new libp2p peer ID (UpdateNode) and the node restarts its libp2p
host under it: the report exchange pauses for a moment (exchanges in flight finish first), gRPC is not affected, and
the other nodes admit the new peer ID as soon as they see the registry change. Interrupted, it can be run again: it
finishes the same rotation.`;

const REVOKE = `Revokes one of the organisation's registered keys (RevokeKey, as its admin): its window ends now. A
revoked log key no longer vouches for its checkpoints in attestations issued afterwards; use it when a key is
compromised, and rotate first so the node has a valid key to sign with.`;

export const keysCommand: CommandDefinition = (parent, io) => {
  const keys = subcommand(parent, 'keys', 'keys rotate | revoke: the node keys on chain', ROTATE);
  subcommand(keys, 'rotate', 'rotate the log, receipt or p2p key without downtime', ROTATE)
    .requiredOption('--kind <kind>', 'log, receipt or p2p')
    .requiredOption('--config <file>', "the node's configuration (node.yaml)")
    .requiredOption('--admin-msp-dir <dir>', "the organisation admin's MSP folder (signs RotateKey)")
    .option('--overlap <seconds>', 'how long the old log or receipt key stays valid after the rotation (0–86400)')
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
    .action(async (options: { kid: string; config: string; adminMspDir: string }) => {
      if (!/^[0-9a-f]{64}$/.test(options.kid)) {
        throw new CliError('USAGE', '--kid must be a key ID: 64 lower-case hex digits');
      }
      const { readNodeConfig, withAdminChain } = await import('../node-admin.ts');
      const config = await readNodeConfig(options.config, io);
      const { result } = await withAdminChain(config, options.adminMspDir, (chain) => chain.revokeKey(options.kid));
      io.stdout.write(
        `revoked ${result.role} key ${result.kid} of ${result.mspId}; valid until ${String(result.validUntil)}\n`,
      );
    });
};

/** `--overlap`: whole seconds, 0 to a day (the chain checks it too); undefined leaves the chain's default. */
function parseOverlap(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^(0|[1-9]\d{0,5})$/.test(value) || Number(value) > 86_400) {
    throw new CliError('USAGE', `--overlap must be whole seconds from 0 to 86400, got ${JSON.stringify(value)}`);
  }
  return Number(value);
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
