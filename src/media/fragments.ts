/**
 * A NAL unit put together from fragments (H.264 FU-A, H.265 FU), copied as they come: a fragment is a view
 * into the packet's socket chunk, and keeping views would keep the chunks (a hostile camera sending 1-byte
 * fragments, each in a padded 60 kB chunk, held 640 MB for 500 MB sent). Bounded in bytes and in count.
 */

/** gortsplib's cap for one access unit; a NAL unit cannot be larger. */
export const MAX_FRAGMENTED_NAL_BYTES = 8 * 1024 * 1024;
/** An 8 MiB NAL unit in 1,400-byte packets is ~6,000 fragments; more is a camera gone wrong. */
export const MAX_FRAGMENTS_PER_NAL = 16_384;

export class FragmentedNal {
  private bytes: Uint8Array | undefined;
  private length = 0;
  private count = 0;

  get inProgress(): boolean {
    return this.bytes !== undefined;
  }

  /** Starts a NAL unit with its reconstructed header. */
  start(header: Uint8Array): void {
    this.bytes = new Uint8Array(Math.max(4096, header.length));
    this.length = 0;
    this.count = 0;
    this.append(header);
  }

  /** Adds a fragment's payload; false when the NAL unit grew past a bound (it is then abandoned). */
  add(fragment: Uint8Array): boolean {
    if (!this.bytes) return true;
    if (++this.count > MAX_FRAGMENTS_PER_NAL || this.length + fragment.length > MAX_FRAGMENTED_NAL_BYTES) {
      this.abandon();
      return false;
    }
    this.append(fragment);
    return true;
  }

  /** The finished NAL unit (its own buffer, exactly its size). */
  finish(): Uint8Array | undefined {
    const bytes = this.bytes;
    if (!bytes) return undefined;
    this.bytes = undefined;
    return bytes.length === this.length ? bytes : bytes.slice(0, this.length);
  }

  abandon(): void {
    this.bytes = undefined;
    this.length = 0;
    this.count = 0;
  }

  private append(data: Uint8Array): void {
    let bytes = this.bytes as Uint8Array;
    if (this.length + data.length > bytes.length) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, this.length + data.length));
      grown.set(bytes.subarray(0, this.length));
      bytes = grown;
      this.bytes = grown;
    }
    bytes.set(data, this.length);
    this.length += data.length;
  }
}
