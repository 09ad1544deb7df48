// PCI bus 0: configuration mechanism #1 (0xCF8 address, 0xCFC-0xCFF data), configuration
// space with writable masks, BAR sizing and mapping into the port and memory buses, and
// INTx → PIRQ → ISA IRQ routing (the PIIX3 routing registers decide the IRQ).
//
// A device is a PciFunction: 256 bytes of config space, which bits are writable, up to six
// BARs (plus the expansion ROM BAR at 0x30) with a map() callback the bus calls whenever the
// guest moves a BAR or toggles I/O / memory decoding in the command register. Devices from
// other files (IDE, VGA, NE2000) either subclass PciFunction or are wrapped by the board in a
// PciFunction built from their pciConfig data.

import type { Stateful, VMStateDecl } from '../state/vmstate.js';

export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_BAR0 = 0x10;
export const PCI_ROM_BAR = 0x30;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
const CMD_IO = 1, CMD_MEM = 2;

export interface PciBar {
  /** Size in bytes (power of two; I/O BARs at least 4, memory at least 16). */
  size: number;
  kind: 'io' | 'mem';
  prefetchable?: boolean;
  /** Map at `base`, or unmap when base is null (decoding off or BAR unassigned). */
  map(base: number | null): void;
}

export interface PciIdentity {
  vendor: number;
  device: number;
  /** 24-bit class code: class << 16 | subclass << 8 | prog-if. */
  classCode: number;
  revision?: number;
  headerType?: number;
  subsystemVendor?: number;
  subsystem?: number;
  /** 1 = INTA# ... 4 = INTD#, 0 = none. */
  interruptPin?: number;
}

export class PciFunction implements Stateful, PciConfigTarget {
  readonly vmstate: VMStateDecl;
  readonly config = new Uint8Array(256);
  /** Bits the guest may change. */
  readonly writeMask = new Uint8Array(256);
  /** Bits that are write-1-to-clear (status register). */
  readonly w1cMask = new Uint8Array(256);
  readonly bars: (PciBar | null)[] = [null, null, null, null, null, null, null];
  /** Where each BAR is mapped now (-1 none); not saved: recomputed after load. */
  private readonly barMapped = new Float64Array(7).fill(-1);
  bus: PciBus | null = null;
  devfn = 0;
  /** INTx# level as the device drives it. */
  irqLevel = false;

  constructor(name: string, id: PciIdentity) {
    this.vmstate = {
      name,
      version: 1,
      fields: [{ name: 'config', type: 'u8[]', length: 256 }, { name: 'irqLevel', type: 'bool' }],
    };
    const c = this.config;
    put16(c, 0, id.vendor);
    put16(c, 2, id.device);
    c[8] = id.revision ?? 0;
    c[9] = id.classCode & 0xff;
    c[10] = (id.classCode >> 8) & 0xff;
    c[11] = (id.classCode >> 16) & 0xff;
    c[0x0e] = id.headerType ?? 0;
    put16(c, 0x2c, id.subsystemVendor ?? 0);
    put16(c, 0x2e, id.subsystem ?? 0);
    c[PCI_INTERRUPT_PIN] = id.interruptPin ?? 0;
    // Command: I/O, memory, bus master, parity, SERR, fast back-to-back, interrupt disable.
    put16(this.writeMask, PCI_COMMAND, 0x0547);
    put16(this.w1cMask, PCI_STATUS, 0xf900);
    c[PCI_STATUS] = 0x00;
    c[PCI_STATUS + 1] = 0x02; // DEVSEL medium
    this.writeMask[0x0c] = 0xff; // cache line size
    this.writeMask[0x0d] = 0xff; // latency timer
    this.writeMask[PCI_INTERRUPT_LINE] = 0xff;
  }

  /** Declare BAR `index` (0-5, or 6 for the expansion ROM). */
  setBar(index: number, bar: PciBar): void {
    this.bars[index] = bar;
    const off = index === 6 ? PCI_ROM_BAR : PCI_BAR0 + index * 4;
    const lowBits = bar.kind === 'io' ? 1 : bar.prefetchable ? 8 : 0;
    put32(this.config, off, lowBits);
    const mask = index === 6 ? ~(bar.size - 1) | 1 : ~(bar.size - 1) & (bar.kind === 'io' ? ~3 : ~0xf);
    put32(this.writeMask, off, mask);
  }

  reset(): void {
    put16(this.config, PCI_COMMAND, 0);
    for (let i = 0; i < 7; i++) {
      const bar = this.bars[i];
      if (!bar) continue;
      const off = i === 6 ? PCI_ROM_BAR : PCI_BAR0 + i * 4;
      put32(this.config, off, bar.kind === 'io' ? 1 : bar.prefetchable ? 8 : 0);
    }
    this.config[PCI_INTERRUPT_LINE] = 0;
    this.updateMappings();
  }

  postLoad(): void {
    this.barMapped.fill(-1);
    this.updateMappings(true);
    this.bus?.setIntx(this.devfn, this.irqLevel);
  }

  /** Config read of `size` bytes (1, 2, 4) at `offset`. Subclasses may override. */
  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.config[(offset + i) & 0xff] << (8 * i);
    return v >>> 0;
  }

  /** Config write; applies the write masks, then remaps BARs if needed. */
  writeConfig(offset: number, value: number, size: number): void {
    let touchesBars = false;
    for (let i = 0; i < size; i++) {
      const o = (offset + i) & 0xff;
      const b = (value >>> (8 * i)) & 0xff;
      const wm = this.writeMask[o];
      const w1c = this.w1cMask[o];
      let cur = this.config[o];
      cur = (cur & ~wm) | (b & wm);
      cur &= ~(b & w1c);
      this.config[o] = cur;
      if ((o >= PCI_BAR0 && o < PCI_BAR0 + 24) || (o >= PCI_ROM_BAR && o < PCI_ROM_BAR + 4) || o === PCI_COMMAND) touchesBars = true;
    }
    if (touchesBars) this.updateMappings();
    if (offset <= PCI_COMMAND + 1 && offset + size > PCI_COMMAND + 1) this.bus?.recomputePirqs();
    this.configWritten(offset, value, size);
  }

  /** Hook for subclasses after a config write. */
  protected configWritten(_offset: number, _value: number, _size: number): void {}

  barAddress(index: number): number {
    const off = index === 6 ? PCI_ROM_BAR : PCI_BAR0 + index * 4;
    const raw = get32(this.config, off);
    const bar = this.bars[index];
    if (!bar) return 0;
    if (index === 6) return raw & 1 ? (raw & ~(bar.size - 1)) >>> 0 : 0;
    return bar.kind === 'io' ? raw & 0xfffc & ~(bar.size - 1) : (raw & ~0xf & ~(bar.size - 1)) >>> 0;
  }

  updateMappings(force = false): void {
    const cmd = get16(this.config, PCI_COMMAND);
    for (let i = 0; i < 7; i++) {
      const bar = this.bars[i];
      if (!bar) continue;
      const enabled = bar.kind === 'io' ? (cmd & CMD_IO) !== 0 : (cmd & CMD_MEM) !== 0;
      let base = enabled ? this.barAddress(i) : -1;
      // Unassigned (0) and all-ones sizing patterns are not decoded.
      if (base === 0) base = -1;
      if (bar.kind === 'mem' && base >= 0 && base + bar.size > 0x100000000) base = -1;
      if (!force && base === this.barMapped[i]) continue;
      this.barMapped[i] = base;
      bar.map(base < 0 ? null : base);
    }
  }

  /** Drive INTx# (level). Honours the command register's interrupt-disable bit. */
  setIrq(level: boolean): void {
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    // Status bit 3: interrupt status.
    if (level) this.config[PCI_STATUS] |= 0x08;
    else this.config[PCI_STATUS] &= ~0x08;
    this.bus?.setIntx(this.devfn, level);
  }
}

/** Routes PIRQA-D to ISA IRQs (the PIIX3 registers 0x60-0x63). */
export interface PirqRouter {
  setPirq(pirq: number, level: boolean): void;
}

/** Anything with a configuration space: a PciFunction or another team's config object. */
export interface PciConfigTarget {
  readConfig(offset: number, size: number): number;
  writeConfig(offset: number, value: number, size: number): void;
}

export class PciBus {
  readonly functions = new Map<number, PciConfigTarget>();
  /** The 0xCF8 address register. */
  configAddress = 0;
  router: PirqRouter | null = null;
  private readonly pirqLevels = new Uint8Array(4);
  /** INTx# level per devfn. */
  private readonly intx = new Map<number, boolean>();

  add(device: number, fn: number, f: PciConfigTarget): number {
    const devfn = (device << 3) | fn;
    if (this.functions.has(devfn)) throw new Error(`pci: slot ${device}.${fn} is taken`);
    if (f instanceof PciFunction) {
      f.bus = this;
      f.devfn = devfn;
    }
    this.functions.set(devfn, f);
    return devfn;
  }

  /** Standard swizzle used by the PIIX: PIRQ = (pin - 1 + slot - 1) & 3. */
  pirqOf(devfn: number, pin: number): number {
    return (pin - 1 + (devfn >> 3) - 1) & 3;
  }

  /** A function drives its INTx# pin. */
  setIntx(devfn: number, level: boolean): void {
    if ((this.intx.get(devfn) ?? false) === level) return;
    this.intx.set(devfn, level);
    this.recomputePirqs();
  }

  recomputePirqs(): void {
    // A handful of functions: recompute every PIRQ level, no bookkeeping needed.
    const levels = [0, 0, 0, 0];
    for (const [devfn, f] of this.functions) {
      if (!this.intx.get(devfn)) continue;
      const pin = f.readConfig(PCI_INTERRUPT_PIN, 1);
      if (pin < 1 || pin > 4) continue;
      if (f.readConfig(PCI_COMMAND, 2) & 0x400) continue; // interrupt disable
      levels[this.pirqOf(devfn, pin)] = 1;
    }
    for (let p = 0; p < 4; p++) {
      if (levels[p] !== this.pirqLevels[p]) {
        this.pirqLevels[p] = levels[p];
        this.router?.setPirq(p, levels[p] === 1);
      }
    }
  }

  pirqLevel(p: number): boolean {
    return this.pirqLevels[p & 3] === 1;
  }

  private target(): PciConfigTarget | undefined {
    const a = this.configAddress;
    if (!(a & 0x80000000)) return undefined;
    if ((a >> 16) & 0xff) return undefined; // only bus 0
    return this.functions.get((a >> 8) & 0xff);
  }

  readData(offset: number, size: number): number {
    const f = this.target();
    if (!f) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    return f.readConfig((this.configAddress & 0xfc) + offset, size);
  }

  writeData(offset: number, value: number, size: number): void {
    const f = this.target();
    if (!f) return;
    f.writeConfig((this.configAddress & 0xfc) + offset, value, size);
  }

  /** Forget INTx/PIRQ levels without telling the router (before loading state; functions
   *  re-assert their pins in postLoad). */
  clearIrqState(): void {
    this.intx.clear();
    this.pirqLevels.fill(0);
  }

  /** Resets the latch and every PciFunction (other teams' devices reset themselves). */
  reset(): void {
    this.configAddress = 0;
    for (const f of this.functions.values()) if (f instanceof PciFunction) f.reset();
  }
}

/** The 0xCF8-0xCFF window as an IoBus handler; byte accesses to 0xCF9 go to `cf9`. */
export function pciConfigPorts(bus: PciBus, cf9: { read(): number; write(v: number): void }) {
  const address = {
    read8: (o: number) => (o === 1 ? cf9.read() : 0xff),
    write8: (o: number, v: number) => { if (o === 1) cf9.write(v); },
    read16: () => 0xffff,
    write16: () => {},
    read32: () => bus.configAddress | 0,
    write32: (_o: number, v: number) => { bus.configAddress = v & 0x80fffffc; },
  };
  const data = {
    read8: (o: number) => bus.readData(o, 1),
    write8: (o: number, v: number) => bus.writeData(o, v, 1),
    read16: (o: number) => bus.readData(o, 2),
    write16: (o: number, v: number) => bus.writeData(o, v, 2),
    read32: (o: number) => bus.readData(o, 4) | 0,
    write32: (o: number, v: number) => bus.writeData(o, v, 4),
  };
  return { address, data };
}

/** Declared state of the config-address latch. */
export class PciHostState implements Stateful {
  readonly vmstate: VMStateDecl = { name: 'pci.host', version: 1, fields: [{ name: 'configAddress', type: 'u32' }] };
  constructor(private readonly bus: PciBus) {}
  get configAddress(): number {
    return this.bus.configAddress >>> 0;
  }
  set configAddress(v: number) {
    this.bus.configAddress = v;
  }
}

export function put16(a: Uint8Array, o: number, v: number): void {
  a[o] = v & 0xff;
  a[o + 1] = (v >> 8) & 0xff;
}

export function put32(a: Uint8Array, o: number, v: number): void {
  a[o] = v & 0xff;
  a[o + 1] = (v >> 8) & 0xff;
  a[o + 2] = (v >> 16) & 0xff;
  a[o + 3] = (v >>> 24) & 0xff;
}

export function get16(a: Uint8Array, o: number): number {
  return a[o] | (a[o + 1] << 8);
}

export function get32(a: Uint8Array, o: number): number {
  return (a[o] | (a[o + 1] << 8) | (a[o + 2] << 16) | (a[o + 3] << 24)) >>> 0;
}
