import { readdirSync, readFileSync } from 'node:fs';
import { readMemory } from './millrace-process.js';

/**
 * Peak RSS of the millrace processes a script spawns, for benches we run as a whole (the backfill
 * engineer's bench/backfill.ts): every 100 ms, walks /proc for descendants of `root` whose command
 * line matches, and keeps each one's VmHWM (its own peak so far), in spawn order.
 */
export class DescendantMemory {
  private readonly peaks = new Map<number, { peak: number; command: string }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly root: number,
    private readonly matches: (commandLine: string) => boolean,
  ) {
    this.timer = setInterval(() => this.sample(), 100);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Peak RSS in bytes of each matching process seen, in the order they appeared. */
  results(): { pid: number; peak: number; command: string }[] {
    return [...this.peaks.entries()].map(([pid, value]) => ({ pid, ...value }));
  }

  private sample(): void {
    const parents = new Map<number, number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // The command name may hold spaces and parentheses: the fields follow its last ')'.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parents.set(Number(name), Number(fields[1]));
      } catch {
        // gone meanwhile
      }
    }
    const descends = (pid: number) => {
      for (let current = parents.get(pid), hops = 0; current !== undefined && hops < 20; hops++) {
        if (current === this.root) return true;
        current = parents.get(current);
      }
      return false;
    };
    for (const pid of parents.keys()) {
      if (!descends(pid)) continue;
      let command: string;
      try {
        command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        continue;
      }
      if (!this.matches(command)) continue;
      const memory = readMemory(pid);
      if (!memory) continue;
      const known = this.peaks.get(pid);
      if (!known || memory.peak > known.peak) this.peaks.set(pid, { peak: memory.peak, command });
    }
  }
}
