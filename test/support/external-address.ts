/**
 * An IPv4 address of this host that is not loopback, for tests of what a listener answers to other machines: a
 * connection to it from this host comes from it, not from 127.0.0.1. Undefined on a host with no such interface.
 */
import { networkInterfaces } from 'node:os';

export const EXTERNAL_ADDRESS: string | undefined = Object.values(networkInterfaces())
  .flat()
  .find((i) => i?.family === 'IPv4' && !i.internal)?.address;
