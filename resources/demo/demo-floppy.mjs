#!/usr/bin/env node
// The demo guest: a 1.44 MB floppy whose boot sector (our own 16-bit code, assembled by hand
// below) prints a greeting through the BIOS and then echoes every key typed (INT 16h → INT 10h
// teletype). It needs nothing but a PC BIOS, so it shows that a VM boots, draws its screen
// and receives the keyboard. Usage: node resources/demo/demo-floppy.mjs <out.img>
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DEMO_GREETING = 'Perseus demo guest. Type something> ';
export const FLOPPY_BYTES = 1_474_560;

/** The 512-byte boot sector, loaded by the BIOS at 0000:7C00. */
export function demoBootSector() {
  const code = [
    0x31, 0xc0, //             xor ax, ax
    0x8e, 0xd8, //             mov ds, ax
    0xbe, 0x23, 0x7c, //       mov si, 0x7C23 (the message, offset 35)
    0xfc, //                   cld
    0xac, //           print:  lodsb                  (offset 8)
    0x08, 0xc0, //             or al, al
    0x74, 0x09, //             jz keys                (13 + 9 = 22)
    0xb4, 0x0e, //             mov ah, 0x0E           (teletype)
    0xbb, 0x07, 0x00, //       mov bx, 0x0007         (page 0, light grey)
    0xcd, 0x10, //             int 0x10
    0xeb, 0xf2, //             jmp print              (22 - 14 = 8)
    0x30, 0xe4, //     keys:   xor ah, ah             (offset 22: wait for a key)
    0xcd, 0x16, //             int 0x16
    0xb4, 0x0e, //             mov ah, 0x0E
    0xbb, 0x07, 0x00, //       mov bx, 0x0007
    0xcd, 0x10, //             int 0x10               (echo it)
    0xeb, 0xf3, //             jmp keys               (35 - 13 = 22)
  ];
  if (code.length !== 35) throw new Error('demo boot sector: the message must start at offset 35');
  const sector = new Uint8Array(512);
  sector.set(code, 0);
  const text = new TextEncoder().encode(DEMO_GREETING);
  sector.set(text, 35);
  sector[35 + text.length] = 0;
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** The whole floppy image: the boot sector followed by empty sectors. */
export function demoFloppyImage() {
  const image = new Uint8Array(FLOPPY_BYTES);
  image.set(demoBootSector(), 0);
  return image;
}

export function writeDemoFloppy(path) {
  writeFileSync(path, demoFloppyImage());
  return path;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node resources/demo/demo-floppy.mjs <out.img>\n');
    process.exit(2);
  }
  writeDemoFloppy(out);
  process.stdout.write(`wrote the demo floppy to ${out}\n`);
}
