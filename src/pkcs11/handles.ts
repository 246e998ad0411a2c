/**
 * Object handles. A handle names one KMS object in one slot for as long as the module is
 * loaded, and a number once given out is never given to anything else — not after a
 * destroy, not after C_Finalize — so a stale handle can only ever be invalid.
 */
export interface ObjectRef {
  slotId: number;
  uid: string;
}

export class HandleTable {
  private next = 1;
  private readonly byHandle = new Map<number, ObjectRef>();
  private readonly byKey = new Map<string, number>();

  handleFor(slotId: number, uid: string): number {
    const key = `${slotId}\u0000${uid}`;
    const existing = this.byKey.get(key);
    if (existing !== undefined) return existing;
    const handle = this.next++;
    this.byHandle.set(handle, { slotId, uid });
    this.byKey.set(key, handle);
    return handle;
  }

  resolve(handle: number): ObjectRef | undefined {
    return this.byHandle.get(handle);
  }

  /** The object is gone: its handle stays retired. */
  retire(handle: number): void {
    const ref = this.byHandle.get(handle);
    if (!ref) return;
    this.byHandle.delete(handle);
    this.byKey.delete(`${ref.slotId}\u0000${ref.uid}`);
  }

  /** Numbers from here on are above base (see Token.initialize). */
  rebase(base: number): void {
    this.next = Math.max(this.next, base + 1);
  }

  /** C_Finalize: forget every object but keep counting. */
  clear(): void {
    this.byHandle.clear();
    this.byKey.clear();
  }
}
