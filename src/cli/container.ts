import { LocalIoError } from './errors';

/**
 * The P11KMS1 container for `p11kms encrypt` / `decrypt`. Big files are cut into chunks and
 * each chunk is one KMIP Encrypt, so neither side ever holds the whole file.
 *
 *   header  magic      7 bytes  "P11KMS1"
 *           mode       u8       1 = AES-GCM, 2 = AES-CBC (PKCS#5 padding)
 *           chunkSize  u32 BE   plaintext bytes per chunk; only the last may be shorter
 *           fileId     16 bytes random, unique to this file
 *           uidLength  u16 BE
 *           keyUid     UTF-8    the KMS key that encrypted the chunks
 *   chunk   ivLength   u8, iv             (the server-chosen IV / nonce)
 *   (≥ 1)   tagLength  u8, tag            (16-byte GCM tag; 0 for CBC)
 *           length     u32 BE, ciphertext
 *
 * GCM chunks are bound with AAD = fileId ‖ u64 BE chunk index ‖ u8 final (1 on the last
 * chunk). Swapping or dropping chunks changes an index, cutting the file after any chunk
 * makes a non-final chunk the last, and splicing chunks from another file changes the fileId:
 * each one fails tag verification. An empty input is one final, empty chunk. CBC chunks carry
 * no tag and no AAD: CBC gives confidentiality only, offered for keys restricted to CBC.
 */

export const MAGIC = Buffer.from('P11KMS1', 'ascii');
export const MODES = { gcm: 1, cbc: 2 } as const;
export type ContainerMode = keyof typeof MODES;
export const FILE_ID_BYTES = 16;
/** Keeps one chunk's JSON request (hex doubles it) well under the server's 64 MiB body limit. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const MAX_IV = 64;
const MAX_TAG = 16;
/** CBC padding can add one block to a chunk. */
const MAX_EXPANSION = 16;

export interface ContainerHeader {
  mode: ContainerMode;
  chunkSize: number;
  fileId: Buffer;
  keyUid: string;
}

export interface ChunkRecord {
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export function encodeHeader(h: ContainerHeader): Buffer {
  const uid = Buffer.from(h.keyUid, 'utf8');
  const fixed = Buffer.alloc(MAGIC.length + 1 + 4 + FILE_ID_BYTES + 2);
  MAGIC.copy(fixed, 0);
  let at = MAGIC.length;
  at = fixed.writeUInt8(MODES[h.mode], at);
  at = fixed.writeUInt32BE(h.chunkSize, at);
  at += h.fileId.copy(fixed, at);
  fixed.writeUInt16BE(uid.length, at);
  return Buffer.concat([fixed, uid]);
}

export function encodeChunk(c: ChunkRecord): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(c.ciphertext.length);
  return Buffer.concat([Buffer.from([c.iv.length]), c.iv, Buffer.from([c.tag.length]), c.tag, length, c.ciphertext]);
}

export function chunkAad(fileId: Buffer, index: number, final: boolean): Buffer {
  const aad = Buffer.alloc(FILE_ID_BYTES + 8 + 1);
  fileId.copy(aad, 0);
  aad.writeBigUInt64BE(BigInt(index), FILE_ID_BYTES);
  aad.writeUInt8(final ? 1 : 0, FILE_ID_BYTES + 8);
  return aad;
}

/** Sequential reads with an end-of-input check; the container parser's only view of the file. */
export interface ByteSource {
  /** Exactly n bytes, or fewer only at the end of input. */
  read(n: number): Promise<Buffer>;
  atEnd(): Promise<boolean>;
}

function corrupt(what: string): LocalIoError {
  return new LocalIoError(`not a valid P11KMS1 container: ${what}`);
}

async function readExact(src: ByteSource, n: number, what: string): Promise<Buffer> {
  const b = await src.read(n);
  if (b.length !== n) throw corrupt(`truncated in the ${what}`);
  return b;
}

export async function readHeader(src: ByteSource): Promise<ContainerHeader> {
  const fixed = await src.read(MAGIC.length + 1 + 4 + FILE_ID_BYTES + 2);
  if (fixed.length < MAGIC.length || !fixed.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('bad magic (was it made by p11kms encrypt?)');
  if (fixed.length !== MAGIC.length + 1 + 4 + FILE_ID_BYTES + 2) throw corrupt('truncated in the header');
  const modeCode = fixed.readUInt8(MAGIC.length);
  const mode = (Object.keys(MODES) as ContainerMode[]).find((m) => MODES[m] === modeCode);
  if (!mode) throw corrupt(`unknown mode ${modeCode}`);
  const chunkSize = fixed.readUInt32BE(MAGIC.length + 1);
  if (chunkSize === 0 || chunkSize > MAX_CHUNK_SIZE) throw corrupt(`chunk size ${chunkSize} out of range`);
  const fileId = Buffer.from(fixed.subarray(MAGIC.length + 5, MAGIC.length + 5 + FILE_ID_BYTES));
  const uidLength = fixed.readUInt16BE(MAGIC.length + 5 + FILE_ID_BYTES);
  const keyUid = (await readExact(src, uidLength, 'key UID')).toString('utf8');
  return { mode, chunkSize, fileId, keyUid };
}

/** The next chunk, or undefined at a clean end of input. Lengths are checked before allocating. */
export async function readChunk(src: ByteSource, header: ContainerHeader): Promise<ChunkRecord | undefined> {
  const ivLength = await src.read(1);
  if (ivLength.length === 0) return undefined;
  const ivLen = ivLength.readUInt8(0);
  if (ivLen > MAX_IV) throw corrupt(`IV length ${ivLen}`);
  const iv = await readExact(src, ivLen, 'chunk IV');
  const tagLen = (await readExact(src, 1, 'chunk tag length')).readUInt8(0);
  if (tagLen > MAX_TAG || (header.mode === 'gcm' && tagLen === 0)) throw corrupt(`tag length ${tagLen}`);
  const tag = await readExact(src, tagLen, 'chunk tag');
  const length = (await readExact(src, 4, 'chunk length')).readUInt32BE(0);
  if (length > header.chunkSize + MAX_EXPANSION) throw corrupt(`chunk of ${length} bytes exceeds the chunk size`);
  const ciphertext = await readExact(src, length, 'chunk data');
  return { iv, tag, ciphertext };
}
