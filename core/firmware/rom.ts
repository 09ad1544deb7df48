// The Perseus BIOS ROM image, laid out at build time (scripts/build-firmware.mjs writes it to
// resources/firmware/perseus-bios.bin). The ROM holds only small real-mode stubs at the
// conventional IBM PC entry points; each stub traps to the TypeScript services
// (core/firmware/services.ts) with `OUT TRAP_PORT, AL`. The services identify the stub by the
// address of the instruction after that OUT (CS must be F000), so a stray guest write to the
// port does nothing.
//
// The generic service stub (9 bytes):
//   L: out TRAP_PORT, al   ; TS does the work; live CF=1 means "wait for an interrupt, retry"
//      jnc D
//      sti
//      hlt
//      jmp L
//   D: iret                ; results: registers, and CF/ZF in the FLAGS image on the stack

import { placeVideoRom } from './video-rom.js';

import { FSEG_TABLES_OFFSET, FSEG_TABLES_SIZE } from './platform.js';

export const TRAP_PORT = 0xee;
export const BIOS_SEGMENT = 0xf000;
export const ROM_SIZE = 0x10000;

/** Services a stub can ask for. */
export type ServiceName =
  | 'post' | 'int08' | 'int09' | 'int10' | 'int11' | 'int12' | 'int13' | 'int14' | 'int15'
  | 'int16' | 'int17' | 'int18' | 'int19' | 'int1a' | 'postNext' | 'bootMenu'
  // 32-bit protected-mode entries (identified by physical address, see services.ts).
  | 'bios32' | 'pci32' | 'int74'
  // APM protected-mode entries (16-bit: CS base F0000h; 32-bit: by physical address).
  | 'apm16' | 'apm32';

export interface RomLayout {
  image: Uint8Array;
  /** Offset in F000 of the byte after each stub's OUT → service. */
  traps: Map<number, ServiceName>;
  /** Entry offsets in F000 (IVT targets). */
  entries: Record<string, number>;
}

// Conventional entry points (IBM PC/AT BIOS compatibility).
export const ENTRY = {
  post: 0xe05b, nmi: 0xe2c3, int19: 0xe6f2, configTable: 0xe6f5, int14: 0xe739, int16: 0xe82e,
  int09: 0xe987, int13: 0xec59, diskParams: 0xefc7, int17: 0xefd2, int10: 0xf065,
  videoParams: 0xf0a4, int12: 0xf841, int11: 0xf84d, int15: 0xf859, font8x8: 0xfa6e,
  int1a: 0xfe6e, int08: 0xfea5, iret: 0xff53, reset: 0xfff0,
  // Our own (no conventional address).
  int18: 0xd000, eoiMaster: 0xd010, eoiSlave: 0xd020, haltLoop: 0xd030, int19Stub: 0xd040, postNext: 0xd050,
  // BIOS32 service directory header ("_32_", 16-byte aligned), its 32-bit entry, the 32-bit
  // PCI BIOS entry, the IRQ 12 handler and where the mouse handler returns to.
  bios32Header: 0xd100, bios32: 0xd110, pci32: 0xd120, int74: 0xd130, int74Return: 0xd13f,
  // IRQ 6 at IBM's diskette interrupt address; IRQ 14/15 (no conventional address).
  int0e: 0xef57, int76: 0xd150, int77: 0xd170,
  // Boot menu: waits for keys (boot-menu.ts).
  bootMenu: 0xd190,
  // APM 16-bit and 32-bit protected-mode entries (apm.ts).
  apm16: 0xd1a0, apm32: 0xd1b0,
} as const;

/** Services entered from 32-bit protected mode (OUT then a 32-bit RETF). */
export const SERVICES_32: readonly ServiceName[] = ['bios32', 'pci32', 'apm32'];

const OUT_TRAP = [0xe6, TRAP_PORT];
const le32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];

export function buildBiosRom(): RomLayout {
  const image = new Uint8Array(ROM_SIZE).fill(0xff);
  const traps = new Map<number, ServiceName>();
  const used: [number, number][] = [];
  const put = (offset: number, bytes: number[] | Uint8Array): void => {
    for (const [s, e] of used) {
      if (offset < e && offset + bytes.length > s) throw new Error(`ROM layout overlap at ${offset.toString(16)}`);
    }
    used.push([offset, offset + bytes.length]);
    image.set(bytes, offset);
  };
  const serviceStub = (offset: number, service: ServiceName): void => {
    put(offset, [...OUT_TRAP, 0x73, 0x04, 0xfb, 0xf4, 0xeb, 0xf8, 0xcf]);
    traps.set(offset + 2, service);
  };

  // Reset vector: jmp far F000:E05B; then the BIOS date and the model byte.
  put(ENTRY.reset, [0xea, ENTRY.post & 0xff, ENTRY.post >> 8, 0x00, 0xf0]);
  put(0xfff5, [...'11/23/26'].map((c) => c.charCodeAt(0)));
  put(0xfffe, [0xfc]);
  // POST: cli; out (TS sets CS:IP to the boot sector); if nothing boots, halt with IRQs on.
  put(ENTRY.post, [0xfa, ...OUT_TRAP, 0xfb, 0xf4, 0xeb, 0xfd]);
  traps.set(ENTRY.post + 3, 'post');
  // Option ROM initialisation returns here (far return); TS calls the next one or boots.
  put(ENTRY.postNext, [...OUT_TRAP, 0xfb, 0xf4, 0xeb, 0xfd]);
  traps.set(ENTRY.postNext + 2, 'postNext');
  // INT 19h / 18h: the TS side jumps to the boot sector, or prints why not and halts.
  // (E6F2 has only 3 bytes before the C0h table at E6F5: a near jump to the stub.)
  const rel = ENTRY.int19Stub - (ENTRY.int19 + 3);
  put(ENTRY.int19, [0xe9, rel & 0xff, (rel >> 8) & 0xff]);
  put(ENTRY.int19Stub, [...OUT_TRAP, 0xfb, 0xf4, 0xeb, 0xfd]);
  traps.set(ENTRY.int19Stub + 2, 'int19');
  // Boot menu: L: sti; out TRAP, al (TS looks at the keys, or boots); hlt; jmp L.
  put(ENTRY.bootMenu, [0xfb, ...OUT_TRAP, 0xf4, 0xeb, 0xfa]);
  traps.set(ENTRY.bootMenu + 3, 'bootMenu');
  put(ENTRY.int18, [...OUT_TRAP, 0xfb, 0xf4, 0xeb, 0xfd]);
  traps.set(ENTRY.int18 + 2, 'int18');
  // Timer tick: TS counts and acknowledges the PIC, then the user hook INT 1Ch runs.
  put(ENTRY.int08, [...OUT_TRAP, 0xcd, 0x1c, 0xcf]);
  traps.set(ENTRY.int08 + 2, 'int08');
  put(ENTRY.int09, [...OUT_TRAP, 0xcf]);
  traps.set(ENTRY.int09 + 2, 'int09');
  for (const s of ['int10', 'int11', 'int12', 'int13', 'int14', 'int15', 'int16', 'int17', 'int1a'] as const) {
    serviceStub(ENTRY[s], s);
  }
  put(ENTRY.nmi, [0xcf]);
  put(ENTRY.iret, [0xcf]);
  // Unused IRQs: acknowledge the PIC(s). push ax; mov al,20h; [out A0h,al;] out 20h,al; pop ax; iret
  put(ENTRY.eoiMaster, [0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf]);
  put(ENTRY.eoiSlave, [0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf]);
  put(ENTRY.haltLoop, [0xfb, 0xf4, 0xeb, 0xfd]);
  // INT 15h C0h configuration table: length 8, model FC, submodel 01, revision 00,
  // feature 1: 0x70 (second PIC, RTC, INT 15h/4Fh called by INT 09h).
  put(ENTRY.configTable, [0x08, 0x00, 0xfc, 0x01, 0x00, 0x70, 0x00, 0x00, 0x00, 0x00]);
  // Diskette parameter table (INT 1Eh) for 1.44 MB drives.
  put(ENTRY.diskParams, [0xaf, 0x02, 0x25, 0x02, 0x12, 0x1b, 0xff, 0x6c, 0xf6, 0x0f, 0x08]);
  // Fonts, VBE strings and tables (0x8000-0xAFFF, 8x8 also at FA6E).
  placeVideoRom(put);
  // 32-bit entries: out TRAP, al; retf (results in registers and the live CF).
  put(ENTRY.bios32, [...OUT_TRAP, 0xcb]);
  traps.set(ENTRY.bios32 + 2, 'bios32');
  put(ENTRY.pci32, [...OUT_TRAP, 0xcb]);
  traps.set(ENTRY.pci32 + 2, 'pci32');
  // APM protected-mode entries: out TRAP, al; retf (16-bit and 32-bit code segments).
  put(ENTRY.apm16, [...OUT_TRAP, 0xcb]);
  traps.set(ENTRY.apm16 + 2, 'apm16');
  put(ENTRY.apm32, [...OUT_TRAP, 0xcb]);
  traps.set(ENTRY.apm32 + 2, 'apm32');
  // BIOS32 service directory: signature, entry (physical), revision 0, length 1 paragraph, checksum.
  const b32 = [0x5f, 0x33, 0x32, 0x5f, ...le32((BIOS_SEGMENT << 4) + ENTRY.bios32), 0, 1, 0, 0, 0, 0, 0, 0];
  b32[10] = (0x100 - (b32.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
  put(ENTRY.bios32Header, b32);
  // IRQ 12: pusha; push ds; push es; out TRAP | done: EOI slave and master; pop es; pop ds;
  // popa; iret | int74Return: add sp, 8 (the packet words); jmp done.
  put(ENTRY.int74, [0x60, 0x1e, 0x06, ...OUT_TRAP, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x07, 0x1f, 0x61, 0xcf]);
  traps.set(ENTRY.int74 + 5, 'int74');
  put(ENTRY.int74Return, [0x83, 0xc4, 0x08, 0xeb, (ENTRY.int74 + 5 - (ENTRY.int74Return + 5)) & 0xff]);
  // IRQ 6 (INT 0Eh), as IBM's: push ax; push ds; mov ax,40h; mov ds,ax; or byte [3Eh],80h
  // (recalibrate status: interrupt occurred); mov al,20h; out 20h,al; pop ds; mov ax,9101h;
  // int 15h (interrupt complete, diskette); pop ax; iret. The FDC itself is acknowledged by the
  // waiting code's SENSE INTERRUPT STATUS.
  put(ENTRY.int0e, [0x50, 0x1e, 0xb8, 0x40, 0x00, 0x8e, 0xd8, 0x80, 0x0e, 0x3e, 0x00, 0x80,
    0xb0, 0x20, 0xe6, 0x20, 0x1f, 0xb8, 0x01, 0x91, 0xcd, 0x15, 0x58, 0xcf]);
  // IRQ 14/15 (INT 76h/77h): push ax; push dx; push ds; mov dx,<status port>; in al,dx
  // (acknowledges the IDE channel); mov ax,40h; mov ds,ax; mov byte [8Eh],0FFh (hard disk
  // interrupt flag); mov al,20h; out 0A0h,al; out 20h,al; mov ax,9100h; int 15h; pop ds;
  // pop dx; pop ax; iret.
  const hdIrq = (status: number) => [0x50, 0x52, 0x1e, 0xba, status & 0xff, status >> 8, 0xec,
    0xb8, 0x40, 0x00, 0x8e, 0xd8, 0xc6, 0x06, 0x8e, 0x00, 0xff, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20,
    0xb8, 0x00, 0x91, 0xcd, 0x15, 0x1f, 0x5a, 0x58, 0xcf];
  put(ENTRY.int76, hdIrq(0x1f7));
  put(ENTRY.int77, hdIrq(0x177));
  // Filled at POST (after shadowing F0000 to RAM): RSDP, MP table, SMBIOS (platform.ts).
  put(FSEG_TABLES_OFFSET, new Array<number>(FSEG_TABLES_SIZE).fill(0));
  // Identification string the TS side also prints.
  put(0xe000, [...'Perseus BIOS'].map((c) => c.charCodeAt(0)));
  return { image, traps, entries: { ...ENTRY } };
}
