import { UNCHANGED } from '../../mapping/compiled-mapping.js';
import type { RelationEvent, SourceEvent } from '../../pipeline/source-event.js';

/** What a Relation message told us about a table, kept to decode its row messages. */
interface RelationShape {
  readonly table: string;
  readonly names: readonly string[];
  /** Per column: part of the replica identity (what a 'K' tuple carries). */
  readonly keys: readonly boolean[];
  /**
   * A column named `__proto__` would set a plain object's prototype instead of a value: such a
   * table's rows are prototype-less objects (slower in V8, so only there).
   */
  readonly protoColumn: boolean;
}

type Row = Record<string, string | null | typeof UNCHANGED>;

/** PostgreSQL's epoch, 2000-01-01, in milliseconds since 1970-01-01. */
const postgresEpochMs = 946_684_800_000;
const twoTo32 = 4_294_967_296;

/**
 * Decodes the pgoutput (protocol version 1) messages millrace uses straight from the buffer
 * of one XLogData payload into SourceEvents. Values stay in PostgreSQL's text form; an
 * unchanged TOAST value ('u') is the UNCHANGED sentinel, never null. Type messages and logical
 * messages without a `millrace` prefix decode to nothing.
 *
 * Leaner than a general parser: no intermediate buffers or reader objects per value, LSNs read
 * as one BigInt each, and column names shared by every row of a relation.
 */
export class PgoutputDecoder {
  private readonly relations = new Map<number, RelationShape>();
  /** Where the tuple read last ended (no result object per tuple). */
  private end = 0;

  decode(buf: Buffer): SourceEvent | undefined {
    switch (buf[0]) {
      case 0x42 /* B */:
        return {
          kind: 'begin',
          finalLsn: buf.readBigUInt64BE(1),
          xid: buf.readUInt32BE(17),
        };
      case 0x43 /* C */:
        return {
          kind: 'commit',
          endLsn: buf.readBigUInt64BE(10),
          commitTimeMs: readTimestampMs(buf, 18),
        };
      case 0x4f /* O */:
        return { kind: 'origin', name: readCString(buf, 9).text };
      case 0x49 /* I */:
        return this.decodeInsert(buf);
      case 0x55 /* U */:
        return this.decodeUpdate(buf);
      case 0x44 /* D */:
        return this.decodeDelete(buf);
      case 0x52 /* R */:
        return this.decodeRelation(buf);
      case 0x54 /* T */:
        return this.decodeTruncate(buf);
      case 0x4d /* M */:
        return decodeMessage(buf);
      case 0x59 /* Y */:
        return undefined;
      default:
        throw new Error(`unexpected pgoutput message '${String.fromCharCode(buf[0] ?? 0)}'`);
    }
  }

  private decodeRelation(buf: Buffer): RelationEvent {
    const oid = buf.readUInt32BE(1);
    const schema = readCString(buf, 5);
    const name = readCString(buf, schema.end + 1);
    // Replica identity setting (1 byte), then the column count.
    let pos = name.end + 2;
    const count = buf.readUInt16BE(pos);
    pos += 2;
    const names: string[] = [];
    const keys: boolean[] = [];
    const columns: { name: string; typeOid: number }[] = [];
    for (let i = 0; i < count; i++) {
      const flags = buf[pos]!;
      const column = readCString(buf, pos + 1);
      const typeOid = buf.readUInt32BE(column.end + 1);
      // Type modifier (4 bytes) is not needed: types are compared by OID.
      pos = column.end + 9;
      names.push(column.text);
      keys.push((flags & 1) !== 0);
      columns.push({ name: column.text, typeOid });
    }
    const table = `${schema.text}.${name.text}`;
    this.relations.set(oid, { table, names, keys, protoColumn: names.includes('__proto__') });
    return { kind: 'relation', table, columns };
  }

  private relation(buf: Buffer, pos: number): RelationShape {
    const oid = buf.readUInt32BE(pos);
    const relation = this.relations.get(oid);
    if (!relation)
      throw new Error(`pgoutput change for relation ${oid} before its Relation message`);
    return relation;
  }

  private decodeInsert(buf: Buffer): SourceEvent {
    const relation = this.relation(buf, 1);
    // Byte 5 is 'N': a new tuple follows.
    const row = this.readTuple(buf, 6, relation, undefined, false);
    return { kind: 'insert', table: relation.table, row, old: null };
  }

  private decodeUpdate(buf: Buffer): SourceEvent {
    const relation = this.relation(buf, 1);
    let pos = 5;
    let old: Row | null = null;
    const marker = buf[pos];
    if (marker === 0x4b /* K */ || marker === 0x4f /* O */) {
      old = this.readTuple(buf, pos + 1, relation, undefined, marker === 0x4b);
      pos = this.end;
    }
    // buf[pos] is 'N'. With the whole old row (REPLICA IDENTITY FULL), an unchanged TOAST value
    // of the new row is taken from it: the old row carries it in full.
    const fallback = marker === 0x4f ? (old ?? undefined) : undefined;
    const row = this.readTuple(buf, pos + 1, relation, fallback, false);
    return { kind: 'update', table: relation.table, row, old };
  }

  private decodeDelete(buf: Buffer): SourceEvent {
    const relation = this.relation(buf, 1);
    const keyOnly = buf[5] === 0x4b; /* K, else O */
    const old = this.readTuple(buf, 6, relation, undefined, keyOnly);
    return { kind: 'delete', table: relation.table, row: null, old };
  }

  /**
   * TupleData at `start`: a column count, then per column 'n' (null), 'u' (unchanged TOAST),
   * 't' + length + text. `keyOnly`: a 'K' tuple, whose non-key columns are placeholders. Leaves
   * the position after it in `end`.
   */
  private readTuple(
    buf: Buffer,
    start: number,
    relation: RelationShape,
    fallback: Row | undefined,
    keyOnly: boolean,
  ): Row {
    const { names, keys } = relation;
    const count = buf.readUInt16BE(start);
    let pos = start + 2;
    const row: Row = relation.protoColumn ? Object.create(null) : {};
    for (let i = 0; i < count; i++) {
      const kind = buf[pos++];
      let value: string | null | typeof UNCHANGED;
      if (kind === 0x74 /* t */) {
        const length = buf.readUInt32BE(pos);
        pos += 4;
        value = buf.toString('utf8', pos, pos + length);
        pos += length;
      } else if (kind === 0x6e /* n */) {
        value = null;
      } else if (kind === 0x75 /* u */) {
        const known = fallback?.[names[i]!];
        value = known === undefined ? UNCHANGED : known;
      } else {
        throw new Error(`unexpected pgoutput column kind '${String.fromCharCode(kind ?? 0)}'`);
      }
      if (keyOnly && !keys[i]) continue;
      row[names[i]!] = value;
    }
    this.end = pos;
    return row;
  }

  private decodeTruncate(buf: Buffer): SourceEvent {
    const count = buf.readUInt32BE(1);
    // Byte 5 holds the CASCADE / RESTART IDENTITY options.
    const tables: string[] = [];
    for (let i = 0; i < count; i++) tables.push(this.relation(buf, 6 + i * 4).table);
    return { kind: 'truncate', tables };
  }
}

/** A Message: only `millrace…` prefixes reach the pipeline (the online backfill's watermarks). */
function decodeMessage(buf: Buffer): SourceEvent | undefined {
  const transactional = (buf[1]! & 1) !== 0;
  // Bytes 2-9 hold the message's LSN.
  const prefix = readCString(buf, 10);
  if (!prefix.text.startsWith('millrace')) return undefined;
  const length = buf.readUInt32BE(prefix.end + 1);
  const from = prefix.end + 5;
  const content = buf.toString('utf8', from, from + length);
  return { kind: 'message', prefix: prefix.text, content, transactional };
}

/** A NUL-terminated string at `start`; `end` is the index of its NUL. */
function readCString(buf: Buffer, start: number): { text: string; end: number } {
  const end = buf.indexOf(0, start);
  if (end < 0) throw new Error('truncated pgoutput message: unterminated string');
  return { text: buf.toString('utf8', start, end), end };
}

/** A PostgreSQL timestamp (microseconds since 2000-01-01) as milliseconds since 1970. */
function readTimestampMs(buf: Buffer, pos: number): number {
  // Exact as a double: microseconds since 2000 stay below 2^53 for the next 285 years.
  const micros = buf.readInt32BE(pos) * twoTo32 + buf.readUInt32BE(pos + 4);
  return Math.floor(micros / 1000) + postgresEpochMs;
}
