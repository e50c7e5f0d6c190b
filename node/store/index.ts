export {
  asPromise,
  openNodeDatabase,
  type NodeDatabase,
  type NodeSublevel,
  type SublevelWrite,
} from './node-database.ts';
