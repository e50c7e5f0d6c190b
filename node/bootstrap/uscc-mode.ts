/**
 * A node admits records and notarizations in its own `ingest.usccMode`, without asking the chain for each batch
 * (ingest goes on while the ledger is down). Looser than the registry's mode, it would admit codes the consortium
 * refuses (a pilot-region code with a wrong check character in a strict registry); stricter, it would refuse codes
 * the consortium takes. So it refuses to start when the two differ, naming both. What it logged is anchored either
 * way (AnchorCheckpoint checks subjects by shape only), so a mode changed while nodes run (SetUsccMode) never stops
 * anchoring: each node is held to the new mode at its next start.
 */
import type { UsccMode } from '../../chaincode/src/protocol.ts';
import { ChainError, type LianxinChain } from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';
import { NodeStartError } from '../node-errors.ts';

/**
 * Compares `configured` with the registry's mode; an unreachable ledger does not stop a node, so that is only logged.
 * @throws NodeStartError `USCC_MODE_MISMATCH` naming both modes and what to set.
 */
export async function refuseUsccModeMismatch(
  chain: Pick<LianxinChain, 'getSettings'>,
  configured: UsccMode,
  logger: Logger,
): Promise<void> {
  let registry: UsccMode | undefined;
  try {
    registry = (await chain.getSettings())?.usccMode;
  } catch (err) {
    if (!(err instanceof ChainError)) throw err;
    logger.warn({ err, usccMode: configured }, "cannot compare ingest.usccMode with the registry's USCC mode now");
    return;
  }
  // An empty registry has no mode yet (its bootstrap sets strict).
  if (registry === undefined || registry === configured) return;
  throw new NodeStartError(
    'USCC_MODE_MISMATCH',
    `ingest.usccMode is ${configured} but the consortium registry's USCC mode is ${registry}: set ingest.usccMode ` +
      `to ${registry} (LIANXIN_INGEST_USCC_MODE), or have the operator set the registry's (SetUsccMode)`,
    'ingest.usccMode',
  );
}
