/**
 * A chaincode package run as chaincode-as-a-service by the unmodified fabric-shim CLI
 * (`fabric-chaincode-node server`, lib/cmds/serverCommand.js) on a free loopback port, as a Fabric 2.5 peer
 * would dial it with an external builder.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.ts';

const CLI = new URL('../../node_modules/.bin/fabric-chaincode-node', import.meta.url).pathname;
const READY_ATTEMPTS = 120;
const READY_POLL_MS = 100;

export interface ChaincodeServer {
  /** host:port for a `{ kind: 'service' }` deployment. */
  readonly address: string;
  stop(): Promise<void>;
}

export async function startChaincodeServer(options: {
  readonly chaincodeId: string;
  readonly modulePath: string;
  /** CORE_PEER_LOCALMSPID: what the shim's getMSPID() answers, the MSP of the peer running it. */
  readonly peerMspId: string;
}): Promise<ChaincodeServer> {
  const port = await freePort();
  const address = `127.0.0.1:${String(port)}`;
  const child = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--chaincode-address',
      address,
      '--chaincode-id',
      options.chaincodeId,
      '--module-path',
      options.modulePath,
    ],
    { env: { ...process.env, CORE_PEER_LOCALMSPID: options.peerMspId }, stdio: 'ignore' },
  );
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let attempt = 0; !(await accepts(port)); attempt++) {
    if (attempt >= READY_ATTEMPTS || child.exitCode !== null) {
      await stop();
      throw new Error(`the chaincode server on ${address} did not start`);
    }
    await sleep(READY_POLL_MS);
  }
  return { address, stop };
}

/** Whether something listens on the loopback port. */
async function accepts(port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}
