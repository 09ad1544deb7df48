// Platform tables of the built-in firmware, read back from guest memory after POST the way an
// OS finds them: ACPI (RSDP → RSDT → FADT → FACS/DSDT, MADT), MP table, SMBIOS; checksums,
// cross-references, and agreement with the emulated hardware (PM ports power the machine off,
// the reset register resets it, interrupt routing matches the PIIX3 and the I/O APIC).
import { describe, expect, it } from 'vitest';
import type { PcMachine } from '../../core/board/pc.js';
import { builtinPc, runUntilScreen } from './helpers.js';

function bytes(m: PcMachine, addr: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = m.memory.read8(addr + i);
  return out;
}
const sum = (b: Uint8Array) => b.reduce((a, x) => a + x, 0) & 0xff;
const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;
const text = (b: Uint8Array, o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));

/** First 16-byte-aligned address in [from, to) starting with `sig`, or -1. */
function scan(m: PcMachine, from: number, to: number, sig: string): number {
  for (let a = from; a < to; a += 16) if (text(bytes(m, a, sig.length), 0, sig.length) === sig) return a;
  return -1;
}

/** An ACPI table at `addr`: checks the checksum over its length. */
function acpiTable(m: PcMachine, addr: number, sig: string): Uint8Array {
  const head = bytes(m, addr, 36);
  expect(text(head, 0, 4)).toBe(sig);
  const t = bytes(m, addr, u32(head, 4));
  expect(sum(t), `${sig} checksum`).toBe(0);
  return t;
}

/** Minimal AML reading (independent of core/firmware/aml.ts). */
function pkgLen(b: Uint8Array, o: number): { len: number; size: number } {
  const lead = b[o], n = lead >> 6;
  if (n === 0) return { len: lead & 0x3f, size: 1 };
  let len = lead & 0x0f;
  for (let i = 1; i <= n; i++) len |= b[o + i] << (4 + 8 * (i - 1));
  return { len, size: n + 1 };
}
function amlInt(b: Uint8Array, o: number): { v: number; size: number } {
  switch (b[o]) {
    case 0x00: return { v: 0, size: 1 };
    case 0x01: return { v: 1, size: 1 };
    case 0x0a: return { v: b[o + 1], size: 2 };
    case 0x0b: return { v: u16(b, o + 1), size: 3 };
    case 0x0c: return { v: u32(b, o + 1), size: 5 };
    default: throw new Error(`not an AML integer: ${b[o].toString(16)} at ${o}`);
  }
}
/** Elements of the Package that Name(seg, Package(){...}) defines (integers or nested packages). */
function namedPackage(b: Uint8Array, seg: string): unknown[] {
  const s = [...seg].map((c) => c.charCodeAt(0));
  for (let o = 0; o < b.length - 6; o++) {
    if (b[o] !== 0x08) continue;
    let p = o + 1;
    if (b[p] === 0x5c) p++;
    if (s.every((c, i) => b[p + i] === c) && b[p + 4] === 0x12) return readPackage(b, p + 4).items;
  }
  throw new Error(`no Name(${seg}, Package) in the AML`);
}
function readPackage(b: Uint8Array, o: number): { items: unknown[]; end: number } {
  const { len, size } = pkgLen(b, o + 1);
  const end = o + 1 + len;
  const count = b[o + 1 + size];
  const items: unknown[] = [];
  let p = o + 2 + size;
  for (let i = 0; i < count; i++) {
    if (b[p] === 0x12) { const r = readPackage(b, p); items.push(r.items); p = r.end; }
    else { const r = amlInt(b, p); items.push(r.v); p += r.size; }
  }
  expect(p).toBe(end);
  return { items, end };
}

/** Powered on until POST gave up booting (no media); a PCI NIC so a PCI interrupt pin is in use. */
function booted(memoryMiB = 64, cpuModel: 'pentium2' | 'pentium' = 'pentium2') {
  const r = builtinPc({ memoryMiB, cpuModel, bootOrder: 'a', nic: { model: 'ne2k-pci', backend: null } });
  expect(runUntilScreen(r.m, 'No bootable device', 5_000_000)).toBeGreaterThan(0);
  return r;
}

describe('ACPI tables', () => {
  it('RSDP → RSDT → FADT/FACS/DSDT and MADT are found, checksummed and consistent', () => {
    const { m, fw } = booted();
    const rsdpAt = scan(m, 0xe0000, 0x100000, 'RSD PTR ');
    expect(rsdpAt).toBeGreaterThan(0);
    const rsdp = bytes(m, rsdpAt, 20);
    expect(sum(rsdp)).toBe(0);
    const rsdt = acpiTable(m, u32(rsdp, 16), 'RSDT');
    const entries = Array.from({ length: (rsdt.length - 36) / 4 }, (_, i) => u32(rsdt, 36 + i * 4));
    const sigs = entries.map((a) => text(bytes(m, a, 4), 0, 4));
    expect(sigs.sort()).toEqual(['APIC', 'FACP']);
    const fadt = acpiTable(m, entries.find((a) => text(bytes(m, a, 4), 0, 4) === 'FACP')!, 'FACP');
    // FACS: 64-byte aligned, in the NVS range of the E820 map; the DSDT in the ACPI data range.
    const facsAt = u32(fadt, 36);
    expect(facsAt % 64).toBe(0);
    expect(text(bytes(m, facsAt, 4), 0, 4)).toBe('FACS');
    expect(u32(bytes(m, facsAt, 8), 4)).toBe(64);
    const e820 = fw.tables!.e820;
    const inRange = (a: number, type: number) => e820.some(([b, l, t]) => t === type && a >= b && a < b + l);
    expect(inRange(facsAt, 4)).toBe(true);
    for (const a of [u32(rsdp, 16), ...entries, u32(fadt, 40)]) expect(inRange(a, 3)).toBe(true);
    const dsdt = acpiTable(m, u32(fadt, 40), 'DSDT');
    expect(u32(fadt, 140)).toBe(u32(fadt, 40)); // X_DSDT agrees

    // The PM ports the FADT names are where the PIIX4 PM function decodes them.
    const sci = u16(fadt, 46), pm1aEvt = u32(fadt, 56), pm1aCnt = u32(fadt, 64), pmTmr = u32(fadt, 76);
    expect(sci).toBe(9);
    expect(fadt[88]).toBe(4); expect(fadt[89]).toBe(2); expect(fadt[91]).toBe(4);
    expect(u16(fadt, 109) & 2).toBe(2); // there is an 8042
    const t0 = m.io.in32(pmTmr);
    m.run(200_000);
    expect(m.io.in32(pmTmr)).not.toBe(t0);
    expect(m.io.in16(pm1aEvt + 2)).toBe(0); // PM1 enable readable at the event block
    // SMI command + enable value turn SCI_EN on, as an OS does.
    m.io.out8(u32(fadt, 48), fadt[52]);
    expect(m.io.in16(pm1aCnt) & 1).toBe(1);

    // \_S5 holds the SLP_TYP the hardware takes for soft-off: writing it with SLP_EN powers off.
    const s5 = namedPackage(dsdt.subarray(36), '_S5_') as number[];
    expect(s5.length).toBeGreaterThanOrEqual(2);
    expect(m.poweredOff).toBe(false);
    m.io.out16(pm1aCnt, (s5[0] << 10) | 0x2000 | 1);
    expect(m.poweredOff).toBe(true);
  });

  it('the FADT reset register resets the machine', () => {
    const { m } = booted();
    const rsdp = bytes(m, scan(m, 0xe0000, 0x100000, 'RSD PTR '), 20);
    const rsdt = bytes(m, u32(rsdp, 16), 44);
    const fadtAt = [u32(rsdt, 36), u32(rsdt, 40)].find((a) => text(bytes(m, a, 4), 0, 4) === 'FACP')!;
    const fadt = bytes(m, fadtAt, 244);
    expect(u32(fadt, 112) & (1 << 10)).not.toBe(0); // RESET_REG_SUP
    expect(fadt[116]).toBe(1); // system I/O space
    const port = u32(fadt, 120);
    expect(port).toBe(0xcf9);
    m.io.out8(port, fadt[128]);
    expect(m.run(1000)).toBe('reset');
  });

  it('the DSDT _PRT gives every PCI slot and pin the IRQ the PIIX3 routes it to, and POST wrote those IRQs to the devices', () => {
    const { m } = booted();
    const rsdp = bytes(m, scan(m, 0xe0000, 0x100000, 'RSD PTR '), 20);
    const rsdt = bytes(m, u32(rsdp, 16), 44);
    const fadtAt = [u32(rsdt, 36), u32(rsdt, 40)].find((a) => text(bytes(m, a, 4), 0, 4) === 'FACP')!;
    const dsdtAt = u32(bytes(m, fadtAt, 44), 40);
    const dsdt = bytes(m, dsdtAt, u32(bytes(m, dsdtAt, 8), 4));
    const prt = namedPackage(dsdt.subarray(36), '_PRT') as number[][];
    expect(prt.length).toBeGreaterThan(0);
    const route = new Map(prt.map(([addr, pin, src, gsi]) => { expect(src).toBe(0); return [`${addr >>> 16}/${pin}`, gsi]; }));
    let checked = 0;
    for (const [devfn, f] of m.pci.functions) {
      const pin = f.readConfig(0x3d, 1);
      if (pin < 1 || devfn === m.acpi.devfn) continue;
      const irq = m.piix3.pirqIrq(m.pci.pirqOf(devfn, pin));
      expect(irq).toBeGreaterThan(0);
      expect(route.get(`${devfn >> 3}/${pin - 1}`)).toBe(irq);
      expect(f.readConfig(0x3c, 1)).toBe(irq);
      checked++;
    }
    // The ELCR makes the PCI IRQs level-triggered.
    const elcr = m.io.in8(0x4d0) | (m.io.in8(0x4d1) << 8);
    for (const gsi of new Set(route.values())) expect(elcr & (1 << gsi)).not.toBe(0);
    expect(checked).toBeGreaterThan(0);
  });

  it('the MADT lists the local APIC and the I/O APIC with the ID the hardware has, and IRQ 0 on GSI 2', () => {
    const { m } = booted();
    const rsdp = bytes(m, scan(m, 0xe0000, 0x100000, 'RSD PTR '), 20);
    const rsdt = bytes(m, u32(rsdp, 16), 44);
    const madtAt = [u32(rsdt, 36), u32(rsdt, 40)].find((a) => text(bytes(m, a, 4), 0, 4) === 'APIC')!;
    const madt = acpiTable(m, madtAt, 'APIC');
    expect(u32(madt, 36)).toBe(0xfee00000);
    const found: Record<number, Uint8Array[]> = {};
    for (let o = 44; o < madt.length; o += madt[o + 1]) (found[madt[o]] ??= []).push(madt.subarray(o, o + madt[o + 1]));
    expect(found[0]).toHaveLength(1);
    expect(found[0][0][3]).toBe(0); // APIC ID 0
    expect(u32(found[0][0], 4) & 1).toBe(1);
    const io = found[1][0];
    expect(u32(io, 4)).toBe(0xfec00000);
    m.memory.write32(0xfec00000, 0);
    expect(m.memory.read32(0xfec00010) >>> 24).toBe(io[2]);
    const irq0 = found[2].find((e) => e[3] === 0)!;
    expect(u32(irq0, 4)).toBe(2);
  });

  it('without a local APIC (Pentium) there is no MADT and no MP table', () => {
    const { m } = booted(64, 'pentium');
    const rsdp = bytes(m, scan(m, 0xe0000, 0x100000, 'RSD PTR '), 20);
    const rsdt = acpiTable(m, u32(rsdp, 16), 'RSDT');
    expect(rsdt.length).toBe(40);
    expect(scan(m, 0xf0000, 0x100000, '_MP_')).toBe(-1);
  });
});

describe('MP table', () => {
  it('floating pointer and configuration table: checksums, processor, buses, I/O APIC, interrupt routing', () => {
    const { m } = booted();
    const fpAt = scan(m, 0xf0000, 0x100000, '_MP_');
    expect(fpAt).toBeGreaterThan(0);
    const fp = bytes(m, fpAt, 16);
    expect(sum(fp)).toBe(0);
    expect(fp[8]).toBe(1);
    expect(fp[11]).toBe(0); // a configuration table is present
    const head = bytes(m, u32(fp, 4), 44);
    expect(text(head, 0, 4)).toBe('PCMP');
    const cfg = bytes(m, u32(fp, 4), u16(head, 4));
    expect(sum(cfg)).toBe(0);
    expect(u32(cfg, 36)).toBe(0xfee00000);
    const entries: Uint8Array[] = [];
    for (let o = 44, i = 0; i < u16(cfg, 34); i++) {
      const len = cfg[o] === 0 ? 20 : 8;
      entries.push(cfg.subarray(o, o + len));
      o += len;
    }
    const cpu = entries.filter((e) => e[0] === 0);
    expect(cpu).toHaveLength(1);
    expect(cpu[0][3] & 3).toBe(3); // enabled bootstrap processor
    const buses = new Map(entries.filter((e) => e[0] === 1).map((e) => [text(e, 2, 6).trim(), e[1]]));
    expect([...buses.keys()].sort()).toEqual(['ISA', 'PCI']);
    const ioapic = entries.find((e) => e[0] === 2)!;
    expect(u32(ioapic, 4)).toBe(0xfec00000);
    m.memory.write32(0xfec00000, 0);
    expect(m.memory.read32(0xfec00010) >>> 24).toBe(ioapic[1]);
    const ints = entries.filter((e) => e[0] === 3);
    for (const e of ints) expect(e[6]).toBe(ioapic[1]);
    const isa = (irq: number) => ints.find((e) => e[4] === buses.get('ISA') && e[5] === irq && e[1] === 0);
    expect(isa(0)![7]).toBe(2);
    expect(isa(1)![7]).toBe(1);
    expect(isa(14)![7]).toBe(14);
    // Every PCI function with a pin has an entry whose pin is the IRQ the PIIX3 routes it to.
    for (const [devfn, f] of m.pci.functions) {
      const pin = f.readConfig(0x3d, 1);
      if (pin < 1 || devfn === m.acpi.devfn) continue;
      const e = ints.find((x) => x[4] === buses.get('PCI') && x[5] === (((devfn >> 3) << 2) | (pin - 1)));
      expect(e, `PCI ${devfn >> 3} pin ${pin}`).toBeDefined();
      expect(e![7]).toBe(m.piix3.pirqIrq(m.pci.pirqOf(devfn, pin)));
    }
  });
});

describe('SMBIOS', () => {
  it('entry point and structures 0, 1, 3, 4, 16, 17, 19, 32, 127 with the machine\'s memory size', () => {
    const { m } = booted(96);
    const at = scan(m, 0xf0000, 0x100000, '_SM_');
    expect(at).toBeGreaterThan(0);
    const ep = bytes(m, at, 0x1f);
    expect(ep[5]).toBe(0x1f);
    expect(sum(ep)).toBe(0);
    expect(text(ep, 0x10, 5)).toBe('_DMI_');
    expect(sum(ep.subarray(0x10))).toBe(0);
    const table = bytes(m, u32(ep, 0x18), u16(ep, 0x16));
    const types: number[] = [];
    const handles = new Set<number>();
    const structs = new Map<number, { f: Uint8Array; strings: string[] }>();
    let o = 0;
    for (let i = 0; i < u16(ep, 0x1c); i++) {
      const len = table[o + 1];
      const f = table.subarray(o, o + len);
      let p = o + len;
      const strings: string[] = [];
      if (table[p] === 0) p += 2; // no strings: a double NUL
      else {
        for (;;) {
          const start = p;
          while (table[p] !== 0) p++;
          strings.push(text(table, start, p - start));
          p++;
          if (table[p] === 0) { p++; break; }
        }
      }
      types.push(f[0]);
      handles.add(u16(f, 2));
      structs.set(f[0], { f, strings });
      expect(len).toBeLessThanOrEqual(u16(ep, 8));
      o = p;
    }
    expect(o).toBe(table.length);
    expect(types).toEqual([0, 1, 3, 4, 16, 17, 19, 32, 127]);
    expect(handles.size).toBe(types.length);
    const str = (type: number, field: number) => structs.get(type)!.strings[structs.get(type)!.f[field] - 1];
    expect(str(0, 4)).toBe('Perseus');
    expect(str(1, 5)).toBe('Perseus Workstation PC');
    const t17 = structs.get(17)!.f;
    expect(u16(t17, 0x0c)).toBe(96); // MiB
    expect(u16(t17, 4)).toBe(u16(structs.get(16)!.f, 2)); // belongs to the array
    expect(u32(structs.get(19)!.f, 8)).toBe(96 * 1024 - 1); // ending address in KiB
    const t4 = structs.get(4)!.f;
    expect(t4[0x18] & 0x40).toBe(0x40); // socket populated
  });
});
