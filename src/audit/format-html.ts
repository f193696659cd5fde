import { type MappingReport, mappingConsistent } from './audit-report.js';
import { formatRepairText } from './format-repair.js';
import {
  describeKey,
  notes,
  readPositions,
  retainedNote,
  sentence,
  settlingNotes,
} from './report-phrases.js';
import type { AuditOutcome, MappingOutcome } from './run-audit.js';

/** Escapes text for HTML element content and quoted attribute values. */
function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const kinds = ['matched', 'missing', 'extra', 'different'] as const;
type Kind = (typeof kinds)[number];

const colors: Readonly<Record<Kind, string>> = {
  matched: '#2e7d32',
  missing: '#c62828',
  extra: '#ef6c00',
  different: '#6a1b9a',
};

/**
 * A stacked bar of matched / missing / extra / different, in inline SVG: a non-zero count never
 * shrinks to nothing, so one missing row among a million still shows.
 */
function barChart(report: MappingReport): string {
  const width = 600;
  const height = 22;
  const counts = kinds.map((kind) => report[kind]);
  const total = counts.reduce((sum, count) => sum + count, 0);
  const minimum = 4;
  const nonZero = counts.filter((count) => count > 0).length;
  const scale = total === 0 ? 0 : (width - minimum * nonZero) / total;
  let x = 0;
  const rects: string[] = [];
  kinds.forEach((kind, index) => {
    const count = counts[index]!;
    if (count === 0) return;
    const w = minimum + count * scale;
    rects.push(
      `<rect class="bar-${kind}" x="${x.toFixed(2)}" y="0" width="${w.toFixed(2)}" height="${height}" fill="${colors[kind]}"><title>${kind}: ${count}</title></rect>`,
    );
    x += w;
  });
  if (rects.length === 0) {
    rects.push(
      `<rect x="0" y="0" width="${width}" height="${height}" fill="#e0e0e0"><title>no rows</title></rect>`,
    );
  }
  return `<svg class="bar" role="img" aria-label="${escapeHtml(`${report.name}: ${kinds.map((kind) => `${report[kind]} ${kind}`).join(', ')}`)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" preserveAspectRatio="none">${rects.join('')}</svg>`;
}

function legend(): string {
  return `<p class="legend">${kinds
    .map((kind) => `<span><i style="background:${colors[kind]}"></i>${kind}</span>`)
    .join(' ')}</p>`;
}

function summaryRow(mapping: MappingOutcome): string {
  const m = mapping.report;
  const ok = mappingConsistent(m);
  const cells = [
    `<td><a href="#mapping-${escapeHtml(m.name)}">${escapeHtml(m.name)}</a></td>`,
    `<td><code>${escapeHtml(m.source)}</code> → <code>${escapeHtml(m.target)}</code></td>`,
    `<td class="num" data-count="sourceRows">${m.sourceRows}</td>`,
    `<td class="num" data-count="targetRows">${m.targetRows}</td>`,
    ...kinds.map(
      (kind) =>
        `<td class="num${kind !== 'matched' && m[kind] > 0 ? ' bad' : ''}" data-count="${kind}">${m[kind]}</td>`,
    ),
    `<td>${barChart(m)}</td>`,
    `<td class="status ${ok ? 'ok' : 'bad'}" data-status="${ok ? 'ok' : 'different'}">${ok ? 'OK' : 'DIFFERENT'}</td>`,
  ];
  return `<tr data-mapping="${escapeHtml(m.name)}">${cells.join('')}</tr>`;
}

function valueCell(value: string | null, differs: boolean): string {
  const shown = value === null ? '<span class="null">NULL</span>' : escapeHtml(value);
  return `<td class="${differs ? 'diff' : 'same'}">${shown}</td>`;
}

/** The samples of one mapping: keys missing and extra, then the different rows cell by cell. */
function mappingSection(mapping: MappingOutcome): string {
  const m = mapping.report;
  const ok = mappingConsistent(m);
  const parts: string[] = [];
  parts.push(
    `<section class="mapping" id="mapping-${escapeHtml(m.name)}" data-mapping="${escapeHtml(m.name)}">`,
  );
  parts.push(
    `<h2>${escapeHtml(m.name)} <span class="badge ${ok ? 'ok' : 'bad'}">${ok ? 'OK' : 'DIFFERENT'}</span></h2>`,
  );
  parts.push(
    `<p class="counts">${m.sourceRows} source rows (passing the filter), ${m.targetRows} target rows: ${kinds
      .map((kind) => `<b data-count="${kind}">${m[kind]}</b> ${kind}`)
      .join(', ')}</p>`,
  );
  parts.push(barChart(m));
  const retained = retainedNote(mapping);
  if (retained !== undefined) parts.push(`<p class="note">${escapeHtml(retained)}.</p>`);
  const keyList = (
    title: string,
    keys: MappingReport['samples']['missing'],
    total: number,
    kind: string,
  ) => {
    if (keys.length === 0) return;
    parts.push(`<h3>${title} <small>(${keys.length} of ${total})</small></h3>`);
    parts.push(
      `<ul class="keys" data-kind="${kind}">${keys.map((key) => `<li><code>${escapeHtml(describeKey(key))}</code></li>`).join('')}</ul>`,
    );
  };
  keyList('Missing on the target', m.samples.missing, m.missing, 'missing');
  keyList('Extra on the target', m.samples.extra, m.extra, 'extra');
  if (m.samples.different.length > 0) {
    const columns = [
      ...new Set(m.samples.different.flatMap((sample) => Object.keys(sample.columns))),
    ];
    parts.push(
      `<h3>Different <small>(${m.samples.different.length} of ${m.different})</small></h3>`,
    );
    parts.push(
      '<div class="scroll"><table class="samples" data-kind="different"><thead><tr><th>key</th><th>side</th>',
    );
    for (const column of columns) parts.push(`<th>${escapeHtml(column)}</th>`);
    parts.push('</tr></thead><tbody>');
    for (const sample of m.samples.different) {
      for (const side of ['source', 'target'] as const) {
        parts.push(
          `<tr class="${side}">${side === 'source' ? `<th rowspan="2"><code>${escapeHtml(describeKey(sample.key))}</code></th>` : ''}<td class="side">${side}</td>`,
        );
        for (const column of columns) {
          const difference = sample.columns[column];
          parts.push(
            difference === undefined
              ? '<td class="same">=</td>'
              : valueCell(difference[side], true),
          );
        }
        parts.push('</tr>');
      }
    }
    parts.push('</tbody></table></div>');
  }
  if (mapping.repair) {
    const r = mapping.repair;
    parts.push(
      `<p class="repair">Repair: ${r.upsertedMissing} missing and ${r.upsertedDifferent} different upserted, ${r.deleted} deleted, ${r.softDeleted} soft-deleted${r.skipped > 0 ? `, ${r.skipped} skipped` : ''}.</p>`,
    );
  }
  parts.push('</section>');
  return parts.join('');
}

const style = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1b1b;background:#fafafa}
h1{margin:0 0 4px}h2{margin:28px 0 6px}h3{margin:16px 0 6px;font-size:15px}
.overall{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:600;color:#fff}
.overall.ok,.badge.ok{background:#2e7d32}.overall.bad,.badge.bad{background:#c62828}
.badge{font-size:12px;padding:2px 8px;border-radius:3px;color:#fff;vertical-align:middle}
table{border-collapse:collapse;background:#fff}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.num.bad{color:#c62828;font-weight:600}
td.status.ok{color:#2e7d32;font-weight:600}td.status.bad{color:#c62828;font-weight:600}
td.diff{background:#ffebee;font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-all;max-width:32em}
tr.target td.diff{background:#fff3e0}td.same{color:#9e9e9e;text-align:center}td.side{color:#616161;font-size:12px}
.null{color:#9e9e9e;font-style:italic}.note,.meta{color:#424242}.repair{color:#1565c0}
.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
svg.bar{display:block;max-width:100%;height:22px;border-radius:3px}.scroll{overflow-x:auto}
pre{background:#fff;border:1px solid #ddd;padding:8px;overflow-x:auto}
`;

/**
 * One self-contained page: inline CSS and SVG, no script, nothing fetched from the network, so
 * it can be mailed, attached to a CI run or opened offline.
 */
export function formatHtml(outcome: AuditOutcome): string {
  const { report } = outcome;
  const ok = report.consistent;
  const body: string[] = [];
  body.push('<header><h1>millrace audit</h1>');
  body.push(
    `<p id="overall" class="overall ${ok ? 'ok' : 'bad'}" data-consistent="${ok}">${ok ? 'Consistent' : 'Differences found'}</p>`,
  );
  body.push(
    `<p class="meta">Started <time>${escapeHtml(report.startedAt)}</time>, finished <time>${escapeHtml(report.finishedAt)}</time>; ${readPositions(
      outcome,
    )
      .map((position) => `${position.label} <code>${escapeHtml(position.value)}</code>`)
      .join(', ')}. ${settlingNotes(outcome)
      .map((note) => `${escapeHtml(sentence(note))}.`)
      .join(' ')}</p>`,
  );
  body.push('</header>');
  body.push(legend());
  body.push(
    '<table id="summary"><thead><tr><th>mapping</th><th>source → target</th><th>source rows</th><th>target rows</th><th>matched</th><th>missing</th><th>extra</th><th>different</th><th>chart</th><th>status</th></tr></thead><tbody>',
  );
  for (const mapping of outcome.mappings) body.push(summaryRow(mapping));
  body.push('</tbody></table>');
  const extraNotes = notes(outcome);
  if (extraNotes.length > 0) {
    body.push(
      `<ul class="notes">${extraNotes.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>`,
    );
  }
  for (const mapping of outcome.mappings) body.push(mappingSection(mapping));
  if (outcome.repair)
    body.push(`<pre class="repair">${escapeHtml(formatRepairText(outcome).join('\n'))}</pre>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>millrace audit: ${ok ? 'consistent' : 'differences found'}</title>
<style>${style}</style></head>
<body>${body.join('\n')}</body></html>
`;
}
