// QEMU's firmware configuration device (fw_cfg) as SeaBIOS reads it: selector at 0x510
// (16-bit write), data at 0x511 (byte reads), and the DMA interface at 0x514 (big-endian
// 64-bit address of a FWCfgDmaAccess {u32 control, u32 length, u64 address}, written as two
// 32-bit halves; the write of the low half at 0x518 starts the transfer).
//
// Wiring: io.register('fw_cfg', 0x510, 2, fw.ports); io.register('fw_cfg-dma', 0x514, 8,
// fw.dmaPorts); fw.setupPc({...}) fills the items SeaBIOS needs: signature, ID (DMA
// capable), RAM size, CPU count, boot menu (key 0Eh, "etc/show-boot-menu" and, when on,
// "etc/boot-menu-wait" in ms, which both firmwares read), the e820 table ("etc/e820"), "etc/boot-fail-wait",
// the VGA ROM as "vgaroms/vgabios.bin", and the file directory. No ACPI tables are offered, so
// SeaBIOS builds its own (RSDP, FADT with the PIIX4 PM block at 0x600, MADT, DSDT).
// Kernel/initrd/cmdline entries for direct Linux boot are set with setKernel().

import type { PortHandler } from '../bus/io.js';
import type { PhysicalMemory } from '../bus/memory.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';

export const FW_CFG_SIGNATURE = 0x00;
export const FW_CFG_ID = 0x01;
export const FW_CFG_UUID = 0x02;
export const FW_CFG_RAM_SIZE = 0x03;
export const FW_CFG_NOGRAPHIC = 0x04;
export const FW_CFG_NB_CPUS = 0x05;
export const FW_CFG_MACHINE_ID = 0x06;
export const FW_CFG_KERNEL_ADDR = 0x07;
export const FW_CFG_KERNEL_SIZE = 0x08;
export const FW_CFG_KERNEL_CMDLINE = 0x09;
export const FW_CFG_INITRD_ADDR = 0x0a;
export const FW_CFG_INITRD_SIZE = 0x0b;
export const FW_CFG_BOOT_DEVICE = 0x0c;
export const FW_CFG_NUMA = 0x0d;
export const FW_CFG_BOOT_MENU = 0x0e;
export const FW_CFG_MAX_CPUS = 0x0f;
export const FW_CFG_KERNEL_ENTRY = 0x10;
export const FW_CFG_KERNEL_DATA = 0x11;
export const FW_CFG_INITRD_DATA = 0x12;
export const FW_CFG_CMDLINE_ADDR = 0x13;
export const FW_CFG_CMDLINE_SIZE = 0x14;
export const FW_CFG_CMDLINE_DATA = 0x15;
export const FW_CFG_SETUP_ADDR = 0x16;
export const FW_CFG_SETUP_SIZE = 0x17;
export const FW_CFG_SETUP_DATA = 0x18;
export const FW_CFG_FILE_DIR = 0x19;
export const FW_CFG_FILE_FIRST = 0x20;
export const FW_CFG_IRQ0_OVERRIDE = 0x8002;
export const FW_CFG_E820_TABLE = 0x8003;

const DMA_ERROR = 1, DMA_READ = 2, DMA_SKIP = 4, DMA_SELECT = 8, DMA_WRITE = 0x10;
const DMA_SIGNATURE_HI = 0x51454d55; // "QEMU"
const DMA_SIGNATURE_LO = 0x20434647; // " CFG"

export interface PcFwCfgOptions {
  ramBytes: number;
  cpus: number;
  bootOrder: string;
  /** Boot-menu prompt in ms (QEMU's -boot menu=on,splash-time=): > 0 turns the menu on. */
  bootMenuWaitMs?: number;
  vgaRom: Uint8Array | null;
}

export class FwCfg implements Stateful {
  readonly vmstate: VMStateDecl = {
    name: 'fw_cfg',
    version: 1,
    fields: [
      { name: 'selector', type: 'u16' }, { name: 'offset', type: 'u32' },
      { name: 'dmaAddressHigh', type: 'u32' }, { name: 'dmaAddressLow', type: 'u32' },
    ],
  };
  selector = 0;
  offset = 0;
  dmaAddressHigh = 0;
  dmaAddressLow = 0;
  private readonly items = new Map<number, Uint8Array>();
  private readonly files: { name: string; select: number }[] = [];
  readonly ports: PortHandler;
  readonly dmaPorts: PortHandler;

  constructor(private readonly memory: PhysicalMemory) {
    this.ports = {
      read8: (o) => (o === 1 ? this.readByte() : 0),
      write8: (o, v) => { if (o === 0) this.select(v); },
      write16: (o, v) => { if (o === 0) this.select(v); },
      read16: (o) => (o === 1 ? this.readByte() | (this.readByte() << 8) : 0),
    };
    this.dmaPorts = {
      read32: (o) => (o === 0 ? swap32(DMA_SIGNATURE_HI) : o === 4 ? swap32(DMA_SIGNATURE_LO) : 0) | 0,
      read8: (o) => {
        const sig = [0x51, 0x45, 0x4d, 0x55, 0x20, 0x43, 0x46, 0x47];
        return sig[o & 7];
      },
      write32: (o, v) => {
        if (o === 0) this.dmaAddressHigh = swap32(v);
        else if (o === 4) {
          this.dmaAddressLow = swap32(v);
          this.runDma();
        }
      },
      write8: () => {},
    };
    this.setItem(FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
    this.setItem(FW_CFG_ID, le32(3)); // traditional interface + DMA
  }

  reset(): void {
    this.selector = 0;
    this.offset = 0;
    this.dmaAddressHigh = 0;
    this.dmaAddressLow = 0;
  }

  setItem(key: number, data: Uint8Array): void {
    this.items.set(key, data);
  }

  /** Add (or replace) a named file; returns its selector. */
  addFile(name: string, data: Uint8Array): number {
    if (name.length > 55) throw new Error(`fw_cfg file name too long: ${name}`);
    let entry = this.files.find((f) => f.name === name);
    if (!entry) {
      entry = { name, select: FW_CFG_FILE_FIRST + this.files.length };
      this.files.push(entry);
      this.files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    this.items.set(entry.select, data);
    this.rebuildDirectory();
    return entry.select;
  }

  private rebuildDirectory(): void {
    const dir = new Uint8Array(4 + 64 * this.files.length);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, this.files.length, false);
    this.files.forEach((f, i) => {
      const at = 4 + 64 * i;
      dv.setUint32(at, this.items.get(f.select)?.length ?? 0, false);
      dv.setUint16(at + 4, f.select, false);
      dir.set(new TextEncoder().encode(f.name), at + 8);
    });
    this.items.set(FW_CFG_FILE_DIR, dir);
  }

  /** The items SeaBIOS reads on a QEMU pc machine. */
  setupPc(o: PcFwCfgOptions): void {
    const ram = o.ramBytes;
    this.setItem(FW_CFG_RAM_SIZE, le64(ram));
    this.setItem(FW_CFG_NB_CPUS, le16(o.cpus));
    this.setItem(FW_CFG_MAX_CPUS, le16(o.cpus));
    this.setItem(FW_CFG_NOGRAPHIC, le16(0));
    const menuMs = Math.min(0xffff, Math.max(0, Math.floor(o.bootMenuWaitMs ?? 0)));
    this.setItem(FW_CFG_BOOT_MENU, le16(menuMs > 0 ? 1 : 0));
    this.setItem(FW_CFG_BOOT_DEVICE, le16(o.bootOrder.charCodeAt(0) || 0x63));
    this.setItem(FW_CFG_UUID, new Uint8Array(16));
    this.setItem(FW_CFG_IRQ0_OVERRIDE, le32(1));
    // e820: RAM from 0 (SeaBIOS carves out the EBDA and BIOS areas itself).
    const e820 = new Uint8Array(20);
    const dv = new DataView(e820.buffer);
    dv.setUint32(0, 0, true);
    dv.setUint32(4, 0, true);
    dv.setUint32(8, ram >>> 0, true);
    dv.setUint32(12, Math.floor(ram / 0x100000000), true);
    dv.setUint32(16, 1, true);
    this.addFile('etc/e820', e820);
    this.addFile('etc/boot-fail-wait', le32(5));
    this.addFile('etc/show-boot-menu', le16(menuMs > 0 ? 1 : 0));
    // How long SeaBIOS (and the built-in BIOS) shows the boot-menu prompt, as QEMU gives it.
    if (menuMs > 0) this.addFile('etc/boot-menu-wait', le16(menuMs));
    // The VGA BIOS reaches SeaBIOS through the VGA function's expansion ROM BAR (board), not
    // as a "vgaroms/" file: run from the PCI ROM it learns its device's address.
  }

  /** Direct Linux boot: protected-mode kernel, setup sectors, initrd and command line. */
  setKernel(setup: Uint8Array, kernel: Uint8Array, initrd: Uint8Array | null, cmdline: string): void {
    const cmd = new TextEncoder().encode(cmdline + '\0');
    this.setItem(FW_CFG_SETUP_SIZE, le32(setup.length));
    this.setItem(FW_CFG_SETUP_DATA, setup);
    this.setItem(FW_CFG_KERNEL_SIZE, le32(kernel.length));
    this.setItem(FW_CFG_KERNEL_DATA, kernel);
    this.setItem(FW_CFG_INITRD_SIZE, le32(initrd?.length ?? 0));
    this.setItem(FW_CFG_INITRD_DATA, initrd ?? new Uint8Array(0));
    this.setItem(FW_CFG_CMDLINE_SIZE, le32(cmd.length));
    this.setItem(FW_CFG_CMDLINE_DATA, cmd);
  }

  private select(key: number): void {
    this.selector = key & 0xffff;
    this.offset = 0;
  }

  private current(): Uint8Array | undefined {
    // Bit 14 is the (unsupported) write flag; bit 15 selects the architecture-local keys.
    return this.items.get(this.selector & ~0x4000);
  }

  private readByte(): number {
    const item = this.current();
    if (!item || this.offset >= item.length) return 0;
    return item[this.offset++];
  }

  private runDma(): void {
    const addr = this.dmaAddressHigh * 0x100000000 + this.dmaAddressLow;
    this.dmaAddressHigh = this.dmaAddressLow = 0;
    if (addr >= 0x100000000) return; // no memory above 4 GiB
    const m = this.memory;
    const control = swap32(m.read32(addr));
    let length = swap32(m.read32(addr + 4)) >>> 0;
    const target = swap32(m.read32(addr + 8 + 4)) >>> 0; // low half of the big-endian u64
    const targetHigh = swap32(m.read32(addr + 8));
    if (control & DMA_SELECT) this.select(control >>> 16);
    let status = 0;
    if (targetHigh !== 0) status = DMA_ERROR;
    else if (control & (DMA_READ | DMA_SKIP | DMA_WRITE)) {
      const item = this.current();
      const avail = item ? Math.max(0, item.length - this.offset) : 0;
      // Cap a single transfer (a guest may ask for anything).
      length = Math.min(length, 64 * 1024 * 1024);
      if (control & DMA_READ) {
        const n = Math.min(length, avail);
        if (n > 0 && item) m.writeBytes(target, item.subarray(this.offset, this.offset + n));
        if (length > n) m.writeBytes(target + n, new Uint8Array(length - n));
        this.offset += n;
      } else if (control & DMA_SKIP) {
        this.offset += Math.min(length, avail);
      } else {
        status = DMA_ERROR; // writes to items are not supported
      }
    }
    m.write32(addr, swap32(status));
  }
}

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}

function le16(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >> 8) & 0xff);
}

function le32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

function le64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, v >>> 0, true);
  dv.setUint32(4, Math.floor(v / 0x100000000), true);
  return b;
}
