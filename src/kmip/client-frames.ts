/**
 * KMIP binary framing on a stream: a message is an 8-byte TTLV header (tag, type, length in
 * bytes 4–7) followed by that many bytes. Bytes arrive in arbitrary pieces; this collects
 * them into whole messages.
 */
export class TtlvFrameReader {
  private pending: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxMessageBytes = 64 * 1024 * 1024 + 8) {}

  /** Adds bytes; returns every message now complete. Throws if a frame announces more than the limit. */
  push(bytes: Buffer): Buffer[] {
    this.pending.push(bytes);
    this.buffered += bytes.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.buffered < 8) return messages;
      const all = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
      this.pending = [all];
      const total = 8 + all.readUInt32BE(4);
      if (total > this.maxMessageBytes) throw new Error(`the server announced a ${total}-byte message, over the ${this.maxMessageBytes}-byte limit`);
      if (all.length < total) return messages;
      messages.push(all.subarray(0, total));
      const rest = all.subarray(total);
      this.pending = rest.length ? [rest] : [];
      this.buffered = rest.length;
    }
  }

  reset(): void {
    this.pending = [];
    this.buffered = 0;
  }
}
