import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { introspectSource } from '../postgres/introspect.js';
import type { PgClient } from '../postgres/pg-client.js';
import type { MappingPlan } from './offline-backfill.js';
import { keysetColumns, planSourceRead } from './source-reader.js';
import { planPrune, readKeyTypes, type SourceLookup } from './stale-rows.js';

/**
 * How to read and prune one mapping: the keyset from the source table's primary key (read from
 * the catalogs now, so a key changed since the mappings compiled is honoured), and a source lookup
 * for every mapping writing the same target table (`all`), since only a row none of them
 * produces is stale.
 */
export async function planMapping(
  client: PgClient,
  mapping: CompiledMapping,
  all: readonly CompiledMapping[],
): Promise<MappingPlan> {
  const tables = await introspectSource(client, [mapping.source]);
  const keyset = keysetColumns(mapping, tables.get(mapping.sourceKey));
  const lookups: SourceLookup[] = [];
  const writers = all.some((other) => other.name === mapping.name) ? all : [mapping, ...all];
  for (const writer of writers) {
    if (writer.target !== mapping.target) continue;
    lookups.push({ mapping: writer, keyTypes: await readKeyTypes(client, writer) });
  }
  return Object.freeze({
    mapping,
    read: planSourceRead(mapping, keyset),
    prune: planPrune(mapping, lookups),
  });
}
