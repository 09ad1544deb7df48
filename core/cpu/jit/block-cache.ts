// Compiled-block cache, keyed by the physical location of the block's first byte (its index
// in the backing store `memory.mem`) plus the EIP and the mode it was compiled for.
//
// Direct-mapped table of SIZE slots: each slot remembers one (index, eip, mode) with a visit
// counter; the block is compiled on the THRESHOLD-th visit. A slot whose code could not be
// compiled into at least MIN_INSNS instructions is marked and stays interpreted.
// Pages holding compiled code are watched (bit WATCH_CODE of memory.watchPage): any write to
// them through the slow paths (CPU, DMA, devices, loaders) calls invalidatePage(), which drops
// every block of the page; a page invalidated MAX_INVALIDATIONS times is never compiled again
// (self-modifying hot spots). clear() drops everything (reset, state load).

import type { Cpu } from '../cpu.js';
import { BlockCompiler, type CompiledBlock } from './codegen.js';

const SIZE = 1 << 16;
const MASK = SIZE - 1;
export const THRESHOLD = 16;
const MIN_INSNS = 4;
const NO_BLOCK = 255;
const MAX_INVALIDATIONS = 64;
/** The code-cache bit in memory.watchPage (VGA uses bit 0). */
export const WATCH_CODE = 2;

export interface JitStats {
  compiled: number;
  rejected: number;
  /** Code generator failures (a bug: the block is interpreted instead). */
  errors: number;
  runs: number;
  instructions: number;
  invalidations: number;
  /** First unsupported opcode that ended a compiled block → count. */
  stops: Map<number, number>;
}

export class BlockCache {
  private readonly keys = new Int32Array(SIZE).fill(-1);
  private readonly eips = new Int32Array(SIZE);
  private readonly modes = new Int32Array(SIZE);
  private readonly counts = new Uint8Array(SIZE);
  private readonly blocks: (CompiledBlock | null)[] = new Array<CompiledBlock | null>(SIZE).fill(null);
  /** Backing page → slots that got a block compiled there. */
  private readonly pageSlots = new Map<number, number[]>();
  private readonly invalidated: Uint8Array;
  private readonly compiler = new BlockCompiler();
  private readonly watch: Uint8Array;
  private readonly codePages: number;
  readonly stats: JitStats = { compiled: 0, rejected: 0, errors: 0, runs: 0, instructions: 0, invalidations: 0, stops: new Map() };
  /** Collect stats (runs/instructions per block run): set by --stats. */
  collectStats = false;

  constructor(private readonly cpu: Cpu) {
    this.watch = cpu.watchPage;
    // Only RAM is compiled: ROM and video memory are not watched by us.
    this.codePages = cpu.memory.ramSize >>> 12;
    this.invalidated = new Uint8Array(this.codePages);
  }

  /**
   * The block to run at backing index `idx` / `eip` in `mode`, or null (interpret). Counts the
   * visit and compiles on the THRESHOLD-th.
   */
  lookup(idx: number, eip: number, mode: number): CompiledBlock | null {
    const slot = (Math.imul(idx, 0x9e3779b1) >>> 16) & MASK;
    if (this.keys[slot] === idx && this.eips[slot] === (eip | 0) && this.modes[slot] === mode) {
      const b = this.blocks[slot];
      if (b !== null) return b;
      const n = this.counts[slot];
      if (n === NO_BLOCK) return null;
      if (n + 1 < THRESHOLD) {
        this.counts[slot] = n + 1;
        return null;
      }
      return this.compile(slot, idx, eip, mode);
    }
    this.keys[slot] = idx;
    this.eips[slot] = eip;
    this.modes[slot] = mode;
    this.counts[slot] = 1;
    this.blocks[slot] = null;
    return null;
  }

  private compile(slot: number, idx: number, eip: number, mode: number): CompiledBlock | null {
    const page = idx >>> 12;
    if (page >= this.codePages || this.invalidated[page] >= MAX_INVALIDATIONS) {
      this.counts[slot] = NO_BLOCK;
      return null;
    }
    let b: CompiledBlock | null = null;
    try {
      b = this.compiler.compile(this.cpu.mem, idx, eip >>> 0, { cpl: mode & 3, paging: (mode & 4) !== 0, a20: (mode & 8) !== 0 }, MIN_INSNS);
    } catch (e) {
      // A code generator bug must not take the machine down: interpret this block.
      this.stats.errors++;
      if (this.collectStats && this.stats.errors <= 5) console.error('jit: compile failed', e);
      b = null;
    }
    if (this.collectStats && this.compiler.stopOpcode >= 0) {
      const s = this.stats.stops;
      s.set(this.compiler.stopOpcode, (s.get(this.compiler.stopOpcode) ?? 0) + 1);
    }
    if (b === null) {
      this.stats.rejected++;
      this.counts[slot] = NO_BLOCK;
      return null;
    }
    this.stats.compiled++;
    this.blocks[slot] = b;
    let list = this.pageSlots.get(page);
    if (list === undefined) {
      list = [];
      this.pageSlots.set(page, list);
    }
    list.push(slot);
    this.watch[page] |= WATCH_CODE;
    return b;
  }

  /** A watched backing page was written: drop its blocks. */
  invalidatePage(page: number): void {
    this.watch[page] &= ~WATCH_CODE;
    const list = this.pageSlots.get(page);
    if (list === undefined) return;
    this.pageSlots.delete(page);
    this.stats.invalidations++;
    if (page < this.codePages && this.invalidated[page] < 255) this.invalidated[page]++;
    for (const slot of list) {
      if (this.keys[slot] >>> 12 === page) {
        this.keys[slot] = -1;
        this.blocks[slot] = null;
      }
    }
  }

  /** Drop every block (reset, state load). */
  clear(): void {
    for (const page of this.pageSlots.keys()) this.watch[page] &= ~WATCH_CODE;
    this.pageSlots.clear();
    this.keys.fill(-1);
    this.blocks.fill(null);
    this.invalidated.fill(0);
  }

  /** One line for --stats / PERSEUS_JIT_STATS. */
  summary(): string {
    const s = this.stats;
    const stops = [...s.stops.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)
      .map(([op, n]) => `${op.toString(16)}:${n}`).join(' ');
    return `jit: compiled=${s.compiled} rejected=${s.rejected} errors=${s.errors} runs=${s.runs} insns=${s.instructions} invalidations=${s.invalidations} stops=[${stops}]`;
  }
}
