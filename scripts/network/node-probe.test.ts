/**
 * `network status`'s probe of a node's operations endpoint, against the real endpoint: what it reports when the node
 * does not take it for its operator.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeMetrics } from '../../node/metrics/index.ts';
import { startOperationsServer, type OperationsServer } from '../../node/operations/index.ts';
import { EXTERNAL_ADDRESS } from '../../test/support/external-address.ts';
import { probeNode } from './node-probe.ts';

const VERSION = { Version: '0.1.0', CommitSHA: 'a'.repeat(40), NodeVersion: 'v22.0.0' };

let server: OperationsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('network status probe', () => {
  it.skipIf(EXTERNAL_ADDRESS === undefined)(
    'says /metrics was refused at a non-loopback address outside operations.operatorNetworks, and reads it inside',
    async () => {
      const other = String(EXTERNAL_ADDRESS);
      const metrics = createNodeMetrics({ processMetrics: false });
      metrics.measureOutboxDepth(() => 7);
      const probeListeningThere = async (operatorNetworks: string[]) => {
        await server?.close();
        server = await startOperationsServer({
          listen: `${other}:0`,
          registry: metrics.registry,
          version: VERSION,
          operatorNetworks,
        });
        return probeNode(server.address);
      };
      const refused = await probeListeningThere([]);
      expect(refused.status).toMatch(/^OK \(\/metrics HTTP 403: \/metrics is the operator's: .*operatorNetworks/);
      expect(refused.unanchoredRecords).toBeUndefined();
      expect(await probeListeningThere([other])).toMatchObject({ healthy: true, status: 'OK', unanchoredRecords: 7 });
    },
  );
});
