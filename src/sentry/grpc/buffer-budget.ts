/**
 * Request bytes held until a message is whole, counted per connection and in total. A stream
 * takes bytes as DATA arrives and gives them all back when its message is decoded or it ends.
 */
export class BufferBudget {
  private held = 0;

  constructor(private readonly limits: { maxBufferedBytesPerConnection: number; maxBufferedBytes: number }) {}

  get bufferedBytes(): number {
    return this.held;
  }

  /** A budget for one connection. */
  connection(): ConnectionBudget {
    return new ConnectionBudget(this, this.limits.maxBufferedBytesPerConnection);
  }

  /** @internal */
  tryTake(bytes: number): boolean {
    if (this.held + bytes > this.limits.maxBufferedBytes) return false;
    this.held += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.held -= bytes;
  }
}

export class ConnectionBudget {
  private held = 0;

  constructor(
    private readonly total: BufferBudget,
    private readonly max: number,
  ) {}

  /** Takes `bytes` for a stream; false (nothing taken) when this connection or the process is at its cap. */
  tryTake(bytes: number): boolean {
    if (this.held + bytes > this.max || !this.total.tryTake(bytes)) return false;
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held -= bytes;
    this.total.give(bytes);
  }
}
