/**
 * `--chaincode NAME=service:HOST:PORT` (chaincode as a service: the ledger dials it, as a Fabric peer dials the
 * address of a CCaaS package's connection.json) or `--chaincode NAME=PATH` (a Node chaincode package run in the
 * ledger's process; its main module exports `contracts`, as fabric-contract-api chaincode does). The one parser
 * of the flag for `npm run ledger` and `npm start`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CHAINCODE_NAME } from '../../fabric/names.ts';
import type { ChaincodeDeployment } from '../ledger.ts';

export type ChaincodeSpecErrorCode = 'MALFORMED' | 'BAD_NAME' | 'BAD_ADDRESS' | 'NO_SUCH_PATH' | 'DUPLICATE_NAME';

export class ChaincodeSpecError extends Error {
  override readonly name = 'ChaincodeSpecError';
  constructor(
    readonly code: ChaincodeSpecErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const SERVICE_PREFIX = 'service:';

export const CHAINCODE_SPEC_USAGE = '--chaincode NAME=service:HOST:PORT | NAME=PATH';

/** `cwd` resolves a relative PATH (the directory the operator typed it in). */
export function parseChaincodeSpec(spec: string, cwd: string = process.cwd()): ChaincodeDeployment {
  const eq = spec.indexOf('=');
  if (eq < 0) {
    throw new ChaincodeSpecError(
      'MALFORMED',
      `--chaincode must be NAME=service:HOST:PORT or NAME=PATH, got ${JSON.stringify(spec)}`,
    );
  }
  const name = spec.slice(0, eq);
  const target = spec.slice(eq + 1);
  if (!CHAINCODE_NAME.test(name)) {
    throw new ChaincodeSpecError(
      'BAD_NAME',
      `--chaincode name must match ${CHAINCODE_NAME.source} (Fabric's chaincode names), got ${JSON.stringify(name)}`,
    );
  }
  if (target.startsWith(SERVICE_PREFIX)) {
    return { kind: 'service', name, address: parseAddress(name, target.slice(SERVICE_PREFIX.length)) };
  }
  if (target === '') throw new ChaincodeSpecError('MALFORMED', `--chaincode ${name}: the PATH is empty`);
  const path = resolve(cwd, target);
  if (!existsSync(path)) {
    throw new ChaincodeSpecError('NO_SUCH_PATH', `--chaincode ${name}: no chaincode package at ${path}`);
  }
  return { kind: 'in-process', name, contracts: path };
}

/** Several flags; a name given twice is refused (which one would the channel run?). */
export function parseChaincodeSpecs(specs: readonly string[], cwd?: string): ChaincodeDeployment[] {
  const deployments = specs.map((s) => parseChaincodeSpec(s, cwd));
  const seen = new Set<string>();
  for (const d of deployments) {
    if (seen.has(d.name)) throw new ChaincodeSpecError('DUPLICATE_NAME', `--chaincode ${d.name} is given twice`);
    seen.add(d.name);
  }
  return deployments;
}

function parseAddress(name: string, address: string): string {
  const colon = address.lastIndexOf(':');
  const host = colon < 0 ? '' : address.slice(0, colon);
  const portText = colon < 0 ? '' : address.slice(colon + 1);
  const port = Number(portText);
  const bracketed = host.startsWith('[') === host.endsWith(']');
  if (host === '' || !bracketed || !/^\d+$/.test(portText) || port < 1 || port > 65535 || /\s/.test(host)) {
    throw new ChaincodeSpecError(
      'BAD_ADDRESS',
      `--chaincode ${name}: service address must be HOST:PORT with a port from 1 to 65535, got ${JSON.stringify(address)}`,
    );
  }
  return address;
}
