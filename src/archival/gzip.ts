/**
 * gzip output compressed on libuv's thread pool, a chunk at a time, each chunk its own gzip
 * member (RFC 1952 allows any number of members; `gzip -dc`, zcat and Node read them all as one
 * stream). Chunks compress in parallel while the main thread reads and sorts lines, and memory
 * stays bounded: at most `maxInFlight` chunks are held.
 */
import fs from 'node:fs';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { fdLikeOrigin, narrowest, originOf, type Origin } from '../util/ownership.js';

const gzipAsync = promisify(zlib.gzip);

/** Input per gzip member: big enough that setting up a compressor (per member) costs little. */
export const CHUNK_BYTES = 2 << 20;

/** Chunk buffers handed back once compressed, so a long run does not churn 4 MiB allocations. */
const POOL: Buffer[] = [];
const POOL_MAX = 3;
function takeChunk(): Buffer {
  return POOL.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
}
function giveBack(b: Buffer): void {
  if (POOL.length < POOL_MAX && b.length === CHUNK_BYTES) POOL.push(b);
}

export class GzipMemberWriter {
  readonly path: string;
  private readonly fd: number;
  private readonly level: number;
  private readonly maxInFlight: number;
  private cur: Buffer = takeChunk();
  private fill = 0;
  private readonly inFlight: Array<Promise<void>> = [];
  private tail: Promise<void> = Promise.resolve();
  bytesIn = 0;

  /**
   * Appends to `file` (created when missing), which gets the permissions (and, as root, the
   * owner) of `origin`, the file its content comes from, before anything is written to it.
   */
  constructor(file: string, level: number, origin: Origin | null, maxInFlight = 2) {
    this.path = file;
    this.fd = fs.openSync(file, 'a', 0o600);
    if (origin) fdLikeOrigin(this.fd, origin);
    this.level = level;
    this.maxInFlight = maxInFlight;
  }

  /** Queues a copy of `data`. Await it: it waits while too many chunks are in flight. */
  async write(data: Buffer): Promise<void> {
    this.bytesIn += data.length;
    let off = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, CHUNK_BYTES - this.fill);
      data.copy(this.cur, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === CHUNK_BYTES) await this.flushChunk();
    }
  }

  private async flushChunk(): Promise<void> {
    if (this.fill === 0) return;
    const whole = this.cur;
    const chunk = whole.subarray(0, this.fill);
    this.cur = takeChunk();
    this.fill = 0;
    const compressed = gzipAsync(chunk, { level: this.level, chunkSize: 256 << 10 });
    compressed.then(
      () => giveBack(whole),
      () => undefined,
    );
    // Members are written in order: each write waits for the one before it.
    const done = this.tail.then(async () => {
      const buf = await compressed;
      let off = 0;
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    });
    this.tail = done;
    this.inFlight.push(done);
    while (this.inFlight.length > this.maxInFlight) await this.inFlight.shift();
  }

  /** Writes what is left, fsyncs and closes. */
  async close(): Promise<void> {
    try {
      await this.flushChunk();
      await Promise.all(this.inFlight.splice(0));
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      giveBack(this.cur);
    }
  }

  /** Closes without waiting for or syncing anything (the file is about to be removed). */
  abandon(): void {
    giveBack(this.cur);
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

/** Gzips `src` into `dest` (appending), streaming with bounded memory. Returns the bytes read. */
export async function gzipFile(src: string, dest: string, level: number): Promise<number> {
  const w = new GzipMemberWriter(dest, level, originOf(src));
  const fd = fs.openSync(src, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      await w.write(buf.subarray(0, n));
    }
    await w.close();
    return w.bytesIn;
  } catch (err) {
    w.abandon();
    throw err;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A writer that extends the gzip archive `final` through `temp` (renamed over it by the
 * caller): a copy of the archive, when there is one, gets the new members. The temp is never
 * more permissive than `source`, the file its lines come from, nor than the archive it extends.
 */
export function extendArchive(final: string, temp: string, level: number, source: Origin | null): GzipMemberWriter {
  if (fs.existsSync(final)) fs.copyFileSync(final, temp);
  return new GzipMemberWriter(temp, level, source && narrowest(source, originOf(final)));
}
