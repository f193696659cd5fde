import type { TableName } from '../table-name.js';
import type { PublicationState } from './publication-state.js';
import type { SourceRelation } from './source-relations.js';

/** What `ensurePublication` would change, computed without touching anything. */
export interface PublicationPlan {
  readonly create: boolean;
  /** Mapped tables not in the publication yet. */
  readonly add: readonly SourceRelation[];
  /** Mapped tables listed with a row filter or column list: dropped and added back whole. */
  readonly unrestrict: readonly SourceRelation[];
  /** publish_via_partition_root or the published operations need setting. */
  readonly setOptions: boolean;
  /** Mapped tables already published as they should be. */
  readonly present: readonly SourceRelation[];
  /** Tables in the publication that no mapping reads (left alone: setup only adds). */
  readonly unmapped: readonly TableName[];
  /** The existing publication needs an ALTER, which only its owner may run. */
  readonly alterNotOwned: boolean;
}

export function planPublication(
  state: PublicationState | undefined,
  relations: readonly SourceRelation[],
): PublicationPlan {
  if (state === undefined) {
    return {
      create: true,
      add: relations,
      unrestrict: [],
      setOptions: false,
      present: [],
      unmapped: [],
      alterNotOwned: false,
    };
  }
  const members = new Map(state.members.map((member) => [member.oid, member]));
  const mapped = new Set(relations.map((relation) => relation.oid));
  const add: SourceRelation[] = [];
  const unrestrict: SourceRelation[] = [];
  const present: SourceRelation[] = [];
  for (const relation of relations) {
    const member = members.get(relation.oid);
    if (state.allTables) present.push(relation);
    else if (member === undefined) add.push(relation);
    else if (member.restricted) unrestrict.push(relation);
    else present.push(relation);
  }
  const setOptions = !state.viaRoot || !state.publishesAll;
  return {
    create: false,
    add,
    unrestrict,
    setOptions,
    present,
    unmapped: state.members.filter((member) => !mapped.has(member.oid)),
    alterNotOwned: !state.owned && (setOptions || add.length > 0 || unrestrict.length > 0),
  };
}
