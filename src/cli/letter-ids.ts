/** Which table holds a letter: the MES's (to-mes mappings) or the CRM's (to-crm mappings). */
export type LetterSide = 'mes' | 'crm';

export const letterSides: readonly LetterSide[] = ['mes', 'crm'];

/**
 * `dead-letters retry --id` values. The two tables number their letters apart, so one number can
 * name a letter in each: `mes:17` / `crm:17` pin the table, a bare `17` means whichever selected
 * table holds it (and is refused when both do).
 */
export interface LetterIds {
  readonly pinned: Readonly<Record<LetterSide, readonly number[]>>;
  readonly bare: readonly number[];
}

/** How `list` prints a letter's id, and `retry --id` takes it: CRM letters carry their prefix. */
export function letterRef(side: LetterSide, id: number): string {
  return side === 'crm' ? `crm:${id}` : String(id);
}
