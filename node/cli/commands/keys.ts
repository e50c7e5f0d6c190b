/**
 * `lianxin keys rotate --kind log|receipt|p2p` and `lianxin keys revoke --kid <kid>`, run by the institution's
 * admin on the node's host (node/keys key-rotation.ts: generate beside the key file, install, the running node
 * reloads through its admin socket, RotateKey on chain — no restart for the log and receipt keys).
 */
import { adminSocketPath, AdminError, requestKeyReload } from '../../admin/index.ts';
import { rotateNodeKey, type RotatedKind } from '../../keys/index.ts';
import { subcommand, type CommandDefinition } from '../command.ts';
import { CliError } from '../errors.ts';
import { operatorError, readNodeConfig, withAdminChain } from '../node-admin.ts';

const KINDS: readonly RotatedKind[] = ['log', 'receipt', 'p2p'];

const ROTATE = `Rotates one of the node's keys. The new key is generated beside the configured key file (node.yaml
keys.<kind>) and moved over it (the old one kept as <file>.prev until the chain has its successor); the running node
switches to it through its admin socket, without a restart, and right after, RotateKey — as the organisation's
admin — closes the old key's validity window and opens the new one's at the same instant. If the chain refuses, the
old key is put back. The old public key stays in the registry with its window, so checkpoints, attestations and
receipts it signed keep verifying offline with a trust bundle exported afterwards. A p2p rotation registers the new
libp2p peer ID (UpdateNode); the node serves the report exchange under it once restarted. Interrupted, it can be run
again: it finishes the same rotation.`;

const REVOKE = `Revokes one of the organisation's registered keys (RevokeKey, as its admin): its window ends now. A
revoked log key no longer vouches for its checkpoints in attestations issued afterwards; use it when a key is
compromised, and rotate first so the node has a valid key to sign with.`;

export const keysCommand: CommandDefinition = (parent, io) => {
  const keys = subcommand(parent, 'keys', 'keys rotate | revoke: the node keys on chain', ROTATE);
  subcommand(keys, 'rotate', 'rotate the log, receipt or p2p key without downtime', ROTATE)
    .requiredOption('--kind <kind>', 'log, receipt or p2p')
    .requiredOption('--config <file>', "the node's configuration (node.yaml)")
    .requiredOption('--admin-msp-dir <dir>', "the organisation admin's MSP folder (signs RotateKey)")
    .action(async (options: { kind: string; config: string; adminMspDir: string }) => {
      if (!(KINDS as readonly string[]).includes(options.kind)) {
        throw new CliError('USAGE', `--kind must be one of ${KINDS.join(', ')}, got ${JSON.stringify(options.kind)}`);
      }
      const kind = options.kind as RotatedKind;
      const config = await readNodeConfig(options.config, io);
      const keyFile = config.keys[kind];
      if (keyFile === undefined) throw new CliError('CONFIGURATION', `${options.config} names no keys.${kind} file`);
      const origin = `lianxin/${config.mspId}/${config.shard}`;
      const socket = adminSocketPath(config.dataDir);
      // What the running node said it signs with after the last reload; undefined when no node runs.
      let signing: { logKid: string; receiptKid: string } | undefined;
      const reloadNode = async () => {
        signing = await reloadIfRunning(socket);
      };
      try {
        const result = await withAdminChain(config, options.adminMspDir, (chain) =>
          rotateNodeKey({ kind, keyFile, mspId: config.mspId, origin, chain, reloadNode }),
        );
        io.stdout.write(
          `rotated the ${kind} key of ${config.mspId}: ${result.old} → ${result.new}` +
            (result.validFrom ? ` (valid from ${result.validFrom})` : '') +
            (result.registered ? '' : ' (already registered by an earlier run)') +
            '\n',
        );
        if (kind === 'p2p') {
          io.stdout.write('restart the node to serve the report exchange under the new peer ID\n');
          return;
        }
        if (signing === undefined) {
          io.stdout.write('the node is not running: it signs with the new key when it starts\n');
          return;
        }
        const now = kind === 'log' ? signing.logKid : signing.receiptKid;
        if (now !== result.new) {
          throw new CliError(
            'NODE_ERROR',
            `the node reloaded its keys but signs with ${kind} key ${now}, not ${result.new}`,
          );
        }
        io.stdout.write(`the running node signs with the new ${kind} key\n`);
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
      const config = await readNodeConfig(options.config, io);
      const { result } = await withAdminChain(config, options.adminMspDir, (chain) => chain.revokeKey(options.kid));
      io.stdout.write(
        `revoked ${result.role} key ${result.kid} of ${result.mspId}; valid until ${String(result.validUntil)}\n`,
      );
    });
};

/** Tells the running node to read its key files again; undefined when no node runs there. */
async function reloadIfRunning(socket: string): Promise<{ logKid: string; receiptKid: string } | undefined> {
  try {
    return await requestKeyReload(socket);
  } catch (err) {
    if (err instanceof AdminError && err.code === 'NODE_NOT_RUNNING') return undefined;
    throw err;
  }
}
