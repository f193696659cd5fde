/**
 * LSNs travel as BigInt. PostgreSQL spells them `16/B374D848`; the replication library pads them
 * (`00000016/B374D848`): both parse to the same number, so compare numbers, never strings.
 */
export type Lsn = bigint;

export function parseLsn(text: string): Lsn {
  const slash = text.indexOf('/');
  if (slash <= 0) throw new Error(`not an LSN: '${text}'`);
  const high = BigInt(`0x${text.slice(0, slash)}`);
  const low = BigInt(`0x${text.slice(slash + 1)}`);
  return (high << 32n) | low;
}

export function formatLsn(lsn: Lsn): string {
  const high = (lsn >> 32n).toString(16).toUpperCase();
  const low = (lsn & 0xffffffffn).toString(16).toUpperCase();
  return `${high}/${low}`;
}
