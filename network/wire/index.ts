export { varintLength, writeVarint } from './varint.ts';
