import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface HotFunction {
  readonly function: string;
  readonly location: string;
  readonly selfMs: number;
  /** Share of the non-idle samples, in percent. */
  readonly selfPercent: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly wallMs: number;
  /** Time not idle (on CPU in the main thread, GC included), in milliseconds. */
  readonly busyMs: number;
  readonly idleMs: number;
  readonly gcMs: number;
  readonly topFunctions: readonly HotFunction[];
  /** Self time grouped by source file or package. */
  readonly topFiles: readonly {
    readonly file: string;
    readonly selfMs: number;
    readonly selfPercent: number;
  }[];
}

/** Where a frame comes from: a millrace source file, a package, or node itself. */
function origin(url: string): string {
  if (url === '') return '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  if (url.startsWith('node:')) return url;
  return path.basename(url);
}

/** Top self-time functions and files of one `.cpuprofile`. */
export function summariseProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, { fn: string; location: string; us: number }>();
  const files = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (functionName === '(garbage collector)') gc += us;
    const location = url ? `${origin(url)}:${lineNumber + 1}` : '';
    const key = `${functionName}@${location}`;
    const entry = functions.get(key) ?? { fn: functionName || '(anonymous)', location, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const group = url ? origin(url) : functionName;
    files.set(group, (files.get(group) ?? 0) + us);
  }
  const busy = total - idle;
  const percent = (us: number) => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  return {
    file,
    wallMs: Math.round((profile.endTime - profile.startTime) / 1000),
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    gcMs: Math.round(gc / 1000),
    topFunctions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((entry) => ({
        function: entry.fn,
        location: entry.location,
        selfMs: Math.round(entry.us / 1000),
        selfPercent: percent(entry.us),
      })),
    topFiles: [...files.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({
        file: name,
        selfMs: Math.round(us / 1000),
        selfPercent: percent(us),
      })),
  };
}

/** Summaries of every profile in a directory (one per profiled process). */
export function summariseProfiles(dir: string): ProfileSummary[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  return names.sort().map((name) => summariseProfile(path.join(dir, name)));
}
