// SMBIOS 2.8 (32-bit entry point "_SM_") with the structures an OS expects on a simple PC:
// type 0 BIOS, 1 system, 3 chassis, 4 processor, 16 memory array, 17 memory device,
// 19 array mapped address, 32 boot information, 127 end of table.

import { TableWriter } from './platform.js';

export interface SmbiosInput {
  /** Physical address the structure table will be copied to. */
  tableAddress: number;
  ramBytes: number;
  cpuSignature: number;
  cpuFeatures: number;
  /** SMBIOS processor family code (e.g. 0x12 Pentium II). */
  cpuFamily: number;
  cpuVersion: string;
  biosDate: string;
  /** 16 bytes. */
  uuid: Uint8Array;
}

/** Formatted area + strings (each string index counts from 1; a structure with none ends 00 00). */
function structure(out: TableWriter, type: number, handle: number, body: (w: TableWriter) => void, strings: string[]): void {
  const w = new TableWriter();
  w.u8(type).u8(0).u16(handle);
  body(w);
  w.set8(1, w.length);
  out.raw(w.bytes);
  for (const s of strings) out.str(s).u8(0);
  if (strings.length === 0) out.u8(0);
  out.u8(0);
}

export function buildSmbios(input: SmbiosInput): { entry: Uint8Array; table: Uint8Array; count: number; maxSize: number } {
  const t = new TableWriter();
  const sizes: number[] = [];
  let count = 0;
  const add = (type: number, body: (w: TableWriter) => void, strings: string[]) => {
    const before = t.length;
    structure(t, type, count, body, strings);
    sizes.push(t.length - before);
    count++;
  };
  const mib = Math.floor(input.ramBytes / (1024 * 1024));
  add(0, (w) => {
    w.u8(1).u8(2).u16(0xf000).u8(3).u8(0); // vendor, version, segment, date, ROM size 64 KiB
    w.u32(1 << 3).u32(0); // characteristics: "not supported" (no detail claimed)
    w.u8(0x01).u8(0x10); // ext 1: ACPI; ext 2: virtual machine
    w.u8(1).u8(0).u8(0xff).u8(0xff); // BIOS release 1.0, no embedded controller
  }, ['Perseus', 'Perseus BIOS 1.0', input.biosDate]);
  add(1, (w) => {
    w.u8(1).u8(2).u8(3).u8(4).raw(input.uuid).u8(6 /* power switch */).u8(0).u8(5);
  }, ['Perseus', 'Perseus Workstation PC', '1.0', '0', 'Virtual Machine']);
  add(3, (w) => {
    w.u8(1).u8(0x01).u8(2).u8(0).u8(0).u8(3).u8(3).u8(3).u8(2).u32(0).u8(0).u8(0).u8(0).u8(0);
  }, ['Perseus', '1.0']);
  add(4, (w) => {
    w.u8(1).u8(3).u8(input.cpuFamily).u8(2).u32(input.cpuSignature).u32(input.cpuFeatures).u8(3);
    w.u8(0).u16(0).u16(0).u16(0).u8(0x41).u8(1); // voltage, ext clock, speeds unknown; populated+enabled
    w.u16(0xffff).u16(0xffff).u16(0xffff).u8(0).u8(0).u8(0); // no cache info; no serial/asset/part
    w.u8(1).u8(1).u8(1).u16(0x0002).u16(input.cpuFamily); // 1 core, 1 enabled, 1 thread
  }, ['CPU 0', 'GenuineIntel', input.cpuVersion]);
  const arrayHandle = count;
  add(16, (w) => {
    w.u8(1).u8(3).u8(3).u32(mib * 1024).u16(0xfffe).u16(1);
  }, []);
  add(17, (w) => {
    w.u16(arrayHandle).u16(0xfffe).u16(64).u16(64).u16(mib).u8(0x09).u8(0).u8(1).u8(0).u8(0x07).u16(0x0002);
    w.u16(0).u8(2).u8(0).u8(0).u8(0); // speed unknown; manufacturer; no serial/asset/part
  }, ['DIMM 0', 'Perseus']);
  add(19, (w) => {
    w.u32(0).u32(mib * 1024 - 1).u16(arrayHandle).u8(1);
  }, []);
  add(32, (w) => { w.zeros(6).u8(0); }, []);
  add(127, () => {}, []);

  const e = new TableWriter();
  e.str('_SM_').u8(0).u8(0x1f).u8(2).u8(8).u16(Math.max(...sizes)).u8(0).zeros(5);
  e.str('_DMI_').u8(0).u16(t.length).u32(input.tableAddress).u16(count).u8(0x28);
  e.checksum(0x10, 0x0f, 0x15);
  e.checksum(0, 0x1f, 4);
  return { entry: e.toArray(), table: t.toArray(), count, maxSize: Math.max(...sizes) };
}
