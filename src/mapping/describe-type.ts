import type { SourceType } from '../values/column-types.js';

const aliases: Readonly<Record<string, string>> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  bpchar: 'char',
  timestamptz: 'timestamptz',
};

/** A PostgreSQL type as people write it: `numeric(18,6)`, `varchar(40)`, `text[]`. */
export function describeSourceType(type: SourceType): string {
  if (type.category === 'A' && type.elementName !== undefined) {
    return `${aliases[type.elementName] ?? type.elementName}[]`;
  }
  const name = aliases[type.name] ?? type.name;
  if (type.typmod < 0) return name;
  if (type.name === 'numeric') {
    const precision = ((type.typmod - 4) >> 16) & 0xffff;
    const scale = (type.typmod - 4) & 0xffff;
    return `numeric(${precision},${scale})`;
  }
  if (type.name === 'varchar' || type.name === 'bpchar') return `${name}(${type.typmod - 4})`;
  if (['timestamp', 'timestamptz', 'time', 'timetz'].includes(type.name))
    return `${name}(${type.typmod})`;
  return name;
}
