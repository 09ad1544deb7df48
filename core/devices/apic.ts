// Local APIC (xAPIC, MMIO at IA32_APIC_BASE, 0xFEE00000 after reset) of the single CPU.
//
// Wiring: new LocalApic(clock, pic); apic.memory = memory; apic.mapAt(0xfee00000); the CPU's
// interrupt source is the APIC (it falls back to the 8259 through LINT0 in ExtINT mode, or
// directly while the APIC is globally disabled); cpu.hooks.apicBaseChanged → setBaseMsr.
// The I/O APIC delivers with acceptFromIoApic(); onEoi tells it about EOIs.
//
// Implemented: ID, version, TPR/APR/PPR, EOI, LDR/DFR, spurious vector register (software
// enable), ISR/TMR/IRR, ESR, ICR (fixed IPIs to self, self/all-including-self shorthands), LVT
// timer (one-shot and periodic, divide configuration, 1 GHz timer clock as in QEMU), LINT0/1,
// error, thermal and performance LVTs stored. At reset LINT0 is ExtINT and unmasked, as a BIOS
// leaves it (QEMU does the same), so the 8259 keeps working for legacy guests.

import type { MmioHandler, PhysicalMemory } from '../bus/memory.js';
import type { InterruptSource } from '../cpu/interfaces.js';
import type { Timer, VirtualClock } from '../timing/clock.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';

const LVT_TIMER = 0, LVT_THERMAL = 1, LVT_PERF = 2, LVT_LINT0 = 3, LVT_LINT1 = 4, LVT_ERROR = 5;
const LVT_MASKED = 1 << 16;
const SVR_ENABLE = 1 << 8;
const BASE_ENABLE = 1 << 11;
const APIC_VERSION = 0x00050014; // version 0x14, 6 LVT entries

export class LocalApic implements MmioHandler, InterruptSource, Stateful {
  readonly vmstate: VMStateDecl = {
    name: 'lapic',
    version: 1,
    fields: [
      { name: 'apicBase', type: 'u32' }, { name: 'id', type: 'u8' }, { name: 'tpr', type: 'u8' },
      { name: 'ldr', type: 'u32' }, { name: 'dfr', type: 'u32' }, { name: 'svr', type: 'u32' },
      { name: 'isr', type: 'u32[]', length: 8 }, { name: 'irr', type: 'u32[]', length: 8 }, { name: 'tmr', type: 'u32[]', length: 8 },
      { name: 'esr', type: 'u32' }, { name: 'esrPending', type: 'u32' }, { name: 'icrLow', type: 'u32' }, { name: 'icrHigh', type: 'u32' },
      { name: 'lvt', type: 'u32[]', length: 6 }, { name: 'initialCount', type: 'u32' }, { name: 'divideConfig', type: 'u8' },
      { name: 'timerStart', type: 'f64' }, { name: 'timerDeadline', type: 'f64' },
    ],
  };
  apicBase = (0xfee00000 | BASE_ENABLE | 0x100) >>> 0; // BSP flag
  id = 0;
  tpr = 0;
  ldr = 0;
  dfr = 0xffffffff;
  svr = 0xff;
  readonly isr = new Uint32Array(8);
  readonly irr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  esr = 0;
  esrPending = 0;
  icrLow = 0;
  icrHigh = 0;
  readonly lvt = new Uint32Array(6);
  initialCount = 0;
  divideConfig = 0;
  /** Virtual ns when the current count was loaded. */
  timerStart = 0;
  /** Next timer expiry, -1 when not running. */
  timerDeadline = -1;
  memory: PhysicalMemory | null = null;
  private mappedBase = -1;
  private readonly timer: Timer;
  onEoi: (vector: number) => void = () => {};

  constructor(private readonly clock: VirtualClock, private readonly pic: InterruptSource) {
    this.timer = clock.createTimer('lapic-timer', (now) => this.timerExpired(now));
    this.reset();
  }

  reset(): void {
    this.apicBase = (0xfee00000 | BASE_ENABLE | 0x100) >>> 0;
    this.id = 0;
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.isr.fill(0);
    this.irr.fill(0);
    this.tmr.fill(0);
    this.esr = this.esrPending = 0;
    this.icrLow = this.icrHigh = 0;
    this.lvt.fill(LVT_MASKED);
    this.lvt[LVT_LINT0] = 0x700; // ExtINT, unmasked: the 8259 reaches the CPU
    this.initialCount = 0;
    this.divideConfig = 0;
    this.timerStart = 0;
    this.timerDeadline = -1;
    this.timer.cancel();
    if (this.memory) this.mapAt(0xfee00000);
  }

  postLoad(): void {
    if (this.timerDeadline >= 0) this.timer.set(this.timerDeadline);
    else this.timer.cancel();
    if (this.memory) this.mapAt(this.globallyEnabled ? (this.apicBase & 0xfffff000) >>> 0 : -1);
  }

  mapAt(base: number): void {
    const m = this.memory;
    if (!m || base === this.mappedBase) return;
    if (this.mappedBase >= 0) m.unmap(this.mappedBase, 0x1000);
    this.mappedBase = base;
    if (base >= 0) m.mapMmio('lapic', base, 0x1000, this);
  }

  /** WRMSR IA32_APIC_BASE. */
  setBaseMsr(value: number): void {
    this.apicBase = (value & 0xfffff900) >>> 0;
    this.mapAt(this.globallyEnabled ? (this.apicBase & 0xfffff000) >>> 0 : -1);
  }

  get globallyEnabled(): boolean {
    return (this.apicBase & BASE_ENABLE) !== 0;
  }

  private get softwareEnabled(): boolean {
    return (this.svr & SVR_ENABLE) !== 0;
  }

  // ---- interrupt logic

  private static highest(bits: Uint32Array): number {
    for (let i = 7; i >= 0; i--) {
      const w = bits[i];
      if (w) return i * 32 + 31 - Math.clz32(w);
    }
    return -1;
  }

  ppr(): number {
    const isrv = LocalApic.highest(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr : isrClass;
  }

  /** The IRR vector that would be delivered now, or -1. */
  private deliverable(): number {
    if (!this.globallyEnabled || !this.softwareEnabled) return -1;
    const v = LocalApic.highest(this.irr);
    if (v < 0) return -1;
    return (v & 0xf0) > (this.ppr() & 0xf0) ? v : -1;
  }

  /** Whether the 8259's INTR reaches the CPU (APIC off, or LINT0 unmasked ExtINT). */
  private picPassThrough(): boolean {
    if (!this.globallyEnabled) return true;
    const l = this.lvt[LVT_LINT0];
    return (l & LVT_MASKED) === 0 && ((l >> 8) & 7) === 7;
  }

  hasInterrupt(): boolean {
    if (this.deliverable() >= 0) return true;
    return this.picPassThrough() && this.pic.hasInterrupt();
  }

  acknowledge(): number {
    const v = this.deliverable();
    if (v >= 0) {
      this.irr[v >> 5] &= ~(1 << (v & 31));
      this.isr[v >> 5] |= 1 << (v & 31);
      return v;
    }
    if (this.picPassThrough() && this.pic.hasInterrupt()) return this.pic.acknowledge();
    return this.svr & 0xff; // spurious
  }

  /** Set a vector in IRR (edge) or IRR+TMR (level). */
  accept(vector: number, level: boolean): void {
    vector &= 0xff;
    if (vector < 16) {
      this.esrPending |= 0x40; // received illegal vector
      return;
    }
    const i = vector >> 5, bit = 1 << (vector & 31);
    this.irr[i] |= bit;
    if (level) this.tmr[i] |= bit;
    else this.tmr[i] &= ~bit;
  }

  acceptFromIoApic(vector: number, level: boolean): void {
    if (!this.globallyEnabled) return;
    this.accept(vector, level);
  }

  private eoi(): void {
    const v = LocalApic.highest(this.isr);
    if (v < 0) return;
    const i = v >> 5, bit = 1 << (v & 31);
    this.isr[i] &= ~bit;
    if (this.tmr[i] & bit) {
      this.tmr[i] &= ~bit;
      this.onEoi(v);
    }
  }

  private sendIpi(): void {
    const low = this.icrLow;
    const mode = (low >> 8) & 7;
    const shorthand = (low >> 18) & 3;
    const dest = this.icrHigh >>> 24;
    const toSelf = shorthand === 1 || shorthand === 2 || (shorthand === 0 && (dest === this.id || dest === 0xff));
    if (toSelf && mode === 0) this.accept(low & 0xff, false);
    // INIT/SIPI/NMI to other processors: there are none.
    this.icrLow &= ~(1 << 12); // delivery status: idle
  }

  // ---- timer (1 GHz timer clock divided by the divide configuration)

  private divisor(): number {
    const d = (this.divideConfig & 3) | ((this.divideConfig >> 1) & 4);
    return d === 7 ? 1 : 2 << d;
  }

  currentCount(): number {
    if (this.initialCount === 0 || this.timerStart < 0) return 0;
    const ticks = Math.floor((this.clock.now() - this.timerStart) / this.divisor());
    const periodic = ((this.lvt[LVT_TIMER] >> 17) & 3) === 1;
    if (periodic) return this.initialCount - (ticks % this.initialCount);
    return ticks >= this.initialCount ? 0 : this.initialCount - ticks;
  }

  private startTimer(): void {
    this.timerStart = this.clock.now();
    if (this.initialCount === 0) {
      this.timerDeadline = -1;
      this.timer.cancel();
      return;
    }
    this.timerDeadline = this.timerStart + this.initialCount * this.divisor();
    this.timer.set(this.timerDeadline);
  }

  private timerExpired(now: number): void {
    const l = this.lvt[LVT_TIMER];
    if (!(l & LVT_MASKED) && this.softwareEnabled) this.accept(l & 0xff, false);
    const periodic = ((l >> 17) & 3) === 1;
    if (periodic && this.initialCount > 0) {
      const period = this.initialCount * this.divisor();
      let next = this.timerDeadline + period;
      if (next <= now) next = now + period - ((now - this.timerStart) % period);
      this.timerDeadline = next;
      this.timer.set(next);
    } else {
      this.timerDeadline = -1;
      this.timerStart = -1; // current count reads 0
    }
  }

  // ---- registers

  read32(offset: number): number {
    const r = offset & 0xff0;
    if (r >= 0x100 && r < 0x180) return this.isr[(r - 0x100) >> 4] | 0;
    if (r >= 0x180 && r < 0x200) return this.tmr[(r - 0x180) >> 4] | 0;
    if (r >= 0x200 && r < 0x280) return this.irr[(r - 0x200) >> 4] | 0;
    if (r >= 0x320 && r <= 0x370) return this.lvt[(r - 0x320) >> 4] | 0;
    switch (r) {
      case 0x20: return this.id << 24;
      case 0x30: return APIC_VERSION;
      case 0x80: return this.tpr;
      case 0x90: return 0;
      case 0xa0: return this.ppr();
      case 0xd0: return this.ldr | 0;
      case 0xe0: return this.dfr | 0;
      case 0xf0: return this.svr | 0;
      case 0x280: return this.esr;
      case 0x300: return this.icrLow | 0;
      case 0x310: return this.icrHigh | 0;
      case 0x380: return this.initialCount | 0;
      case 0x390: return this.currentCount() | 0;
      case 0x3e0: return this.divideConfig;
      default: return 0;
    }
  }

  write32(offset: number, value: number): void {
    const r = offset & 0xff0;
    const v = value >>> 0;
    if (r >= 0x320 && r <= 0x370) {
      const idx = (r - 0x320) >> 4;
      const masks = [0x000710ff, 0x000117ff, 0x000117ff, 0x0001f7ff, 0x0001f7ff, 0x000110ff];
      let next = v & masks[idx];
      if (!this.softwareEnabled) next |= LVT_MASKED;
      this.lvt[idx] = next;
      return;
    }
    switch (r) {
      case 0x20: this.id = v >>> 24; break;
      case 0x80: this.tpr = v & 0xff; break;
      case 0xb0: this.eoi(); break;
      case 0xd0: this.ldr = v & 0xff000000; break;
      case 0xe0: this.dfr = (v | 0x0fffffff) >>> 0; break;
      case 0xf0:
        this.svr = v & 0x3ff;
        if (!this.softwareEnabled) for (let i = 0; i < 6; i++) this.lvt[i] |= LVT_MASKED;
        break;
      case 0x280: this.esr = this.esrPending; this.esrPending = 0; break;
      case 0x300: this.icrLow = v & ~(1 << 12); this.sendIpi(); break;
      case 0x310: this.icrHigh = v & 0xff000000; break;
      case 0x380: this.initialCount = v; this.startTimer(); break;
      case 0x3e0: this.divideConfig = v & 0x0b; break;
      default: break; // read-only or reserved
    }
  }

  read8(offset: number): number {
    return (this.read32(offset & ~3) >>> ((offset & 3) * 8)) & 0xff;
  }

  write8(offset: number, value: number): void {
    // Byte writes are undefined on the xAPIC; treat as a 32-bit write of the aligned register.
    if ((offset & 3) === 0) this.write32(offset, value);
  }
}
