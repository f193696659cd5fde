import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** What a pg_recvlogical (pgoutput, proto_version 1) output file holds. */
export interface DecodedFile {
  readonly transactions: number;
  readonly inserts: number;
  readonly updates: number;
  readonly deletes: number;
  /** End LSN of the last Commit message (the checkpoint millrace must reach). */
  readonly lastCommitEndLsn: bigint;
}

/** A read position in a file, refilled piece by piece (the file can be hundreds of megabytes). */
class FileCursor {
  private static readonly pieceSize = 8 << 20;
  private buffer = Buffer.alloc(0);
  private fileOffset = 0;
  private pos = 0;
  private readonly size: number;

  constructor(
    private readonly fd: number,
    private readonly file: string,
  ) {
    this.size = fstatSync(fd).size;
  }

  /** Makes at least `n` bytes available from the position; false at the end of the file. */
  ensure(n: number): boolean {
    if (this.pos + n <= this.buffer.length) return true;
    if (this.fileOffset >= this.size) return false;
    const rest = this.buffer.subarray(this.pos);
    const piece = Buffer.alloc(Math.max(FileCursor.pieceSize, n));
    const read = readSync(this.fd, piece, 0, piece.length, this.fileOffset);
    this.fileOffset += read;
    this.buffer = Buffer.concat([rest, piece.subarray(0, read)]);
    this.pos = 0;
    return this.pos + n <= this.buffer.length;
  }

  private need(n: number): void {
    if (!this.ensure(n))
      throw new Error(
        `truncated pgoutput file ${this.file} at byte ${this.fileOffset - this.buffer.length + this.pos}`,
      );
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  byte(): number {
    this.need(1);
    return this.buffer[this.pos++]!;
  }

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  uint64(): bigint {
    this.need(8);
    const value = this.buffer.readBigUInt64BE(this.pos);
    this.pos += 8;
    return value;
  }

  skipString(): void {
    while (this.byte() !== 0);
  }

  /** A TupleData: per column a kind byte, and for text (t) or binary (b) a length and bytes. */
  skipTuple(): void {
    const columns = this.int16();
    for (let i = 0; i < columns; i++) {
      const kind = this.byte();
      if (kind === 0x74 /* t */ || kind === 0x62 /* b */) this.skip(this.int32());
    }
  }
}

type Counts = { -readonly [K in keyof DecodedFile]: DecodedFile[K] };

/** A Relation message: id, namespace, name, replica identity, then each column's description. */
function skipRelation(cursor: FileCursor): void {
  cursor.skip(4);
  cursor.skipString();
  cursor.skipString();
  cursor.skip(1);
  const columns = cursor.int16();
  for (let i = 0; i < columns; i++) {
    cursor.skip(1); // flags
    cursor.skipString();
    cursor.skip(8); // type oid, type modifier
  }
}

/** Reads one message after its tag byte, counting what the bench checks. */
function readMessage(cursor: FileCursor, tag: string, counts: Counts, file: string): void {
  switch (tag) {
    case 'B':
      cursor.skip(20);
      counts.transactions++;
      return;
    case 'C':
      cursor.skip(9); // flags, commit LSN
      counts.lastCommitEndLsn = cursor.uint64();
      cursor.skip(8); // timestamp
      return;
    case 'R':
      skipRelation(cursor);
      return;
    case 'Y':
      cursor.skip(4);
      cursor.skipString();
      cursor.skipString();
      return;
    case 'O':
      cursor.skip(8);
      cursor.skipString();
      return;
    case 'I':
      cursor.skip(5); // relation id, 'N'
      cursor.skipTuple();
      counts.inserts++;
      return;
    case 'U': {
      cursor.skip(4);
      const kind = String.fromCharCode(cursor.byte());
      if (kind === 'K' || kind === 'O') {
        cursor.skipTuple();
        cursor.skip(1); // 'N'
      }
      cursor.skipTuple();
      counts.updates++;
      return;
    }
    case 'D':
      cursor.skip(5); // relation id, 'K' or 'O'
      cursor.skipTuple();
      counts.deletes++;
      return;
    case 'T':
      cursor.skip(1 + 4 * cursor.int32()); // relation count, options, relation ids
      return;
    case 'M':
      cursor.skip(9); // flags, lsn
      cursor.skipString();
      cursor.skip(cursor.int32());
      return;
    default:
      throw new Error(`unexpected pgoutput message '${tag}' in ${file}`);
  }
}

/**
 * Walks the messages of a pg_recvlogical file. pg_recvlogical writes each message followed by a
 * newline; pgoutput messages are binary, so each message's length is worked out from its
 * structure rather than by splitting on newlines.
 */
export function readDecodedFile(file: string): DecodedFile {
  const fd = openSync(file, 'r');
  const counts: Counts = {
    transactions: 0,
    inserts: 0,
    updates: 0,
    deletes: 0,
    lastCommitEndLsn: 0n,
  };
  try {
    const cursor = new FileCursor(fd, file);
    while (cursor.ensure(1)) {
      const tag = String.fromCharCode(cursor.byte());
      readMessage(cursor, tag, counts, file);
      if (cursor.byte() !== 0x0a)
        throw new Error(`pgoutput message '${tag}' not followed by a newline in ${file}`);
    }
  } finally {
    closeSync(fd);
  }
  return counts;
}
