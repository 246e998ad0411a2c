import { randomBytes as nodeRandomBytes } from 'node:crypto';

export function randomBytes(n: number): Buffer {
  return nodeRandomBytes(n);
}
