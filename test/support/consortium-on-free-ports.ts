/**
 * A consortium file moved to ports free on this machine now, for tests and benchmarks that run a consortium YAML
 * of the repository (the demo, the 25-node delta) while other consortiums may hold its fixed ports. Every node's
 * gRPC and p2p port is replaced; an institution node's gRPC port is picked so that its operations port (node/
 * bootstrap's rule: 9443 + gRPC port − 7100) is free as well. Everything else of the file is kept.
 */
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { EPHEMERAL_START, freePort, isFree } from './free-port.ts';

/** node/bootstrap/local-node-config.ts: the operations endpoint of the node on gRPC port 7100+N listens on 9443+N. */
export const operationsPort = (grpcPort: number): number => 9_443 + grpcPort - 7_100;

interface PortsEntry {
  ports: { grpc: number; p2p?: number };
  type?: string;
}

export async function consortiumOnFreePorts(file: string): Promise<string> {
  const doc = parse(await readFile(file, 'utf8')) as { organizations: { role: string; nodes?: PortsEntry[] }[] };
  const taken = new Set<number>();
  const pick = async (withOperations: boolean): Promise<number> => {
    for (;;) {
      const port = await freePort();
      const ops = operationsPort(port);
      if (taken.has(port) || (withOperations && (taken.has(ops) || ops >= EPHEMERAL_START || !(await isFree(ops)))))
        continue;
      taken.add(port);
      if (withOperations) taken.add(ops);
      return port;
    }
  };
  for (const org of doc.organizations) {
    for (const node of org.nodes ?? []) {
      const institution = org.role !== 'operator';
      node.ports.grpc = await pick(institution);
      if (node.ports.p2p !== undefined) node.ports.p2p = await pick(false);
    }
  }
  return stringify(doc);
}
