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

/**
 * Walks the messages of a pg_recvlogical file. pg_recvlogical writes each message followed by a
 * newline; pgoutput messages are binary, so each message's length is worked out from its
 * structure rather than by splitting on newlines. Reads the file in pieces (it can be hundreds of
 * megabytes).
 */
export function readDecodedFile(file: string): DecodedFile {
  const fd = openSync(file, 'r');
  const size = fstatSync(fd).size;
  const pieceSize = 8 << 20;
  let buffer = Buffer.alloc(0);
  let fileOffset = 0;
  let pos = 0;
  let transactions = 0;
  let inserts = 0;
  let updates = 0;
  let deletes = 0;
  let lastCommitEndLsn = 0n;

  /** Makes at least `n` bytes available from `pos`; false at the end of the file. */
  const ensure = (n: number): boolean => {
    if (pos + n <= buffer.length) return true;
    if (fileOffset >= size) return false;
    const rest = buffer.subarray(pos);
    const piece = Buffer.alloc(Math.max(pieceSize, n));
    const read = readSync(fd, piece, 0, piece.length, fileOffset);
    fileOffset += read;
    buffer = Buffer.concat([rest, piece.subarray(0, read)]);
    pos = 0;
    return pos + n <= buffer.length;
  };
  const need = (n: number) => {
    if (!ensure(n))
      throw new Error(
        `truncated pgoutput file ${file} at byte ${fileOffset - buffer.length + pos}`,
      );
  };
  const skipString = () => {
    for (;;) {
      need(1);
      if (buffer[pos++] === 0) return;
    }
  };
  const skipTuple = () => {
    need(2);
    const columns = buffer.readInt16BE(pos);
    pos += 2;
    for (let i = 0; i < columns; i++) {
      need(1);
      const kind = buffer[pos++];
      if (kind === 0x74 /* t */ || kind === 0x62 /* b */) {
        need(4);
        const length = buffer.readInt32BE(pos);
        pos += 4;
        need(length);
        pos += length;
      }
    }
  };

  try {
    while (ensure(1)) {
      const tag = String.fromCharCode(buffer[pos++]!);
      switch (tag) {
        case 'B':
          need(20);
          pos += 20;
          transactions++;
          break;
        case 'C':
          need(25);
          lastCommitEndLsn = buffer.readBigUInt64BE(pos + 9);
          pos += 25;
          break;
        case 'R': {
          need(4);
          pos += 4;
          skipString();
          skipString();
          need(3);
          pos += 1;
          const columns = buffer.readInt16BE(pos);
          pos += 2;
          for (let i = 0; i < columns; i++) {
            need(1);
            pos += 1;
            skipString();
            need(8);
            pos += 8;
          }
          break;
        }
        case 'Y':
          need(4);
          pos += 4;
          skipString();
          skipString();
          break;
        case 'O':
          need(8);
          pos += 8;
          skipString();
          break;
        case 'I':
          need(5);
          pos += 5; // relation id, 'N'
          skipTuple();
          inserts++;
          break;
        case 'U': {
          need(5);
          pos += 4;
          const kind = String.fromCharCode(buffer[pos++]!);
          if (kind === 'K' || kind === 'O') {
            skipTuple();
            need(1);
            pos += 1; // 'N'
          }
          skipTuple();
          updates++;
          break;
        }
        case 'D':
          need(5);
          pos += 5; // relation id, 'K' or 'O'
          skipTuple();
          deletes++;
          break;
        case 'T': {
          need(9);
          const relations = buffer.readInt32BE(pos);
          need(5 + 4 * relations);
          pos += 5 + 4 * relations;
          break;
        }
        case 'M': {
          need(10);
          pos += 9; // flags, lsn
          skipString();
          need(4);
          const length = buffer.readInt32BE(pos);
          need(4 + length);
          pos += 4 + length;
          break;
        }
        default:
          throw new Error(`unexpected pgoutput message '${tag}' in ${file}`);
      }
      need(1);
      if (buffer[pos++] !== 0x0a)
        throw new Error(`pgoutput message '${tag}' not followed by a newline in ${file}`);
    }
  } finally {
    closeSync(fd);
  }
  return { transactions, inserts, updates, deletes, lastCommitEndLsn };
}
