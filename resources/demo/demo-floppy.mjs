#!/usr/bin/env node
// The demo guest: a 1.44 MB floppy whose boot sector (our own 16-bit code, assembled below by
// a tiny label-resolving assembler) draws a splash screen straight into text-mode video
// memory, shows the time from the RTC (INT 1Ah) once a timer tick, and echoes every key typed
// (INT 16h → INT 10h teletype), halting between interrupts so an idle demo costs no host CPU.
// It needs nothing but a PC BIOS, so it shows that a VM boots, draws its screen and receives
// the keyboard. Usage: node resources/demo/demo-floppy.mjs <out.img>
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DEMO_GREETING = 'Perseus demo guest. Type something> ';
/** The splash's title line, as the screen text shows it. */
export const DEMO_SPLASH = 'P E R S E U S   W O R K S T A T I O N';
export const FLOPPY_BYTES = 1_474_560;

const ORIGIN = 0x7c00;
const PROMPT_ROW = 14;
const TIME_ROW = 8;
const TIME_COL = 41;
const at = (row, col) => (row * 80 + col) * 2;

/** Text drawn by the boot sector: [row, column, attribute, text]. */
const TEXTS = [
  [4, 21, 0x3f, DEMO_SPLASH],
  [6, 15, 0x30, 'Demo guest: a boot sector written for this project'],
  [TIME_ROW, 29, 0x30, 'RTC clock:'],
  [PROMPT_ROW, 2, 0x1f, DEMO_GREETING],
  [22, 2, 0x17, 'Keys typed are echoed by the guest (INT 16h -> INT 10h).'],
];

/** A minimal 16-bit assembler: bytes, labels, short jumps, near calls and absolute words. */
function assemble(build) {
  const out = [];
  const labels = new Map();
  const fixups = [];
  const a = {
    b: (...bytes) => { out.push(...bytes); },
    w: (v) => { out.push(v & 0xff, (v >> 8) & 0xff); },
    label: (name) => { labels.set(name, out.length); },
    /** A short jump (opcode + rel8) to a label. */
    j: (opcode, name) => { out.push(opcode, 0); fixups.push({ at: out.length - 1, name, kind: 'rel8' }); },
    call: (name) => { out.push(0xe8, 0, 0); fixups.push({ at: out.length - 2, name, kind: 'rel16' }); },
    /** A 16-bit absolute address (ORIGIN + label offset). */
    addr: (name) => { out.push(0, 0); fixups.push({ at: out.length - 2, name, kind: 'abs16' }); },
  };
  build(a);
  for (const f of fixups) {
    const target = labels.get(f.name);
    if (target === undefined) throw new Error(`demo assembler: no label ${f.name}`);
    if (f.kind === 'rel8') {
      const rel = target - (f.at + 1);
      if (rel < -128 || rel > 127) throw new Error(`demo assembler: jump to ${f.name} out of range`);
      out[f.at] = rel & 0xff;
    } else {
      const v = f.kind === 'rel16' ? target - (f.at + 2) : ORIGIN + target;
      out[f.at] = v & 0xff;
      out[f.at + 1] = (v >> 8) & 0xff;
    }
  }
  return out;
}

/** The 512-byte boot sector, loaded by the BIOS at 0000:7C00. */
export function demoBootSector() {
  const code = assemble((a) => {
    a.b(0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0); //  cli; xor ax,ax; mov ds,ax; mov ss,ax
    a.b(0xbc); a.w(ORIGIN); a.b(0xfb, 0xfc); //        mov sp,7C00h; sti; cld
    a.b(0xb8); a.w(0x0003); a.b(0xcd, 0x10); //        mov ax,0003h; int 10h   (80x25 colour text)
    a.b(0xb8); a.w(0xb800); a.b(0x8e, 0xc0); //        mov ax,B800h; mov es,ax
    a.b(0x31, 0xff, 0xb8); a.w(0x1f20); //             xor di,di; mov ax,1F20h (blue background)
    a.b(0xb9); a.w(2000); a.b(0xf3, 0xab); //          mov cx,2000; rep stosw
    a.b(0xbf); a.w(at(2, 10)); a.b(0xba); a.w(9); //   mov di,panel; mov dx,9 rows
    a.label('panel');
    a.b(0xb9); a.w(60); a.b(0xb8); a.w(0x3f20); //     mov cx,60; mov ax,3F20h (cyan panel)
    a.b(0xf3, 0xab, 0x83, 0xc7, 40, 0x4a); //          rep stosw; add di,40; dec dx
    a.j(0x75, 'panel'); //                             jnz panel
    a.b(0xbe); a.addr('texts'); //                     mov si,texts
    a.label('text');
    a.b(0xad, 0x83, 0xf8, 0xff); //                    lodsw; cmp ax,-1
    a.j(0x74, 'drawn'); //                             je drawn
    a.b(0x89, 0xc7, 0xac, 0x88, 0xc4); //              mov di,ax; lodsb; mov ah,al (attribute)
    a.label('char');
    a.b(0xac, 0x08, 0xc0); //                          lodsb; or al,al
    a.j(0x74, 'text'); //                              jz text
    a.b(0xab); a.j(0xeb, 'char'); //                   stosw; jmp char
    a.label('drawn');
    a.b(0xb4, 0x02, 0xb7, 0x00, 0xba); //              mov ah,2; mov bh,0; mov dx,cursor
    a.w((PROMPT_ROW << 8) | (2 + DEMO_GREETING.length));
    a.b(0xcd, 0x10); //                                int 10h (cursor after the prompt)
    a.label('main');
    a.b(0xb4, 0x02, 0xcd, 0x1a); //                    mov ah,2; int 1Ah (RTC time, BCD)
    a.j(0x72, 'keys'); //                              jc keys (clock not running)
    a.b(0xbf); a.w(at(TIME_ROW, TIME_COL)); //         mov di,time
    a.b(0x88, 0xe8); a.call('bcd'); //                 mov al,ch; call bcd (hours)
    a.b(0xb0, 0x3a, 0xab); //                          mov al,':'; stosw
    a.b(0x88, 0xc8); a.call('bcd'); //                 mov al,cl; call bcd (minutes)
    a.b(0xb0, 0x3a, 0xab); //                          mov al,':'; stosw
    a.b(0x88, 0xf0); a.call('bcd'); //                 mov al,dh; call bcd (seconds)
    a.label('keys');
    a.b(0xb4, 0x01, 0xcd, 0x16); //                    mov ah,1; int 16h (key waiting?)
    a.j(0x74, 'idle'); //                              jz idle
    a.b(0x30, 0xe4, 0xcd, 0x16); //                    xor ah,ah; int 16h (read it)
    a.b(0x50, 0xb4, 0x0e, 0xbb); a.w(0x0007); //       push ax; mov ah,0Eh; mov bx,7
    a.b(0xcd, 0x10, 0x58, 0x3c, 0x0d); //              int 10h; pop ax; cmp al,0Dh
    a.j(0x75, 'keys'); //                              jne keys
    a.b(0xb8); a.w(0x0e0a); a.b(0xcd, 0x10); //        mov ax,0E0Ah; int 10h (line feed after Enter)
    a.j(0xeb, 'keys'); //                              jmp keys
    a.label('idle');
    a.b(0xfb, 0xf4); a.j(0xeb, 'main'); //             sti; hlt; jmp main (wake on the next IRQ)
    a.label('bcd'); //                                 two BCD digits in AL → ES:DI, yellow on cyan
    a.b(0x50, 0xc0, 0xe8, 0x04, 0x04, 0x30); //        push ax; shr al,4; add al,'0'
    a.b(0xb4, 0x3e, 0xab, 0x58, 0x24, 0x0f); //        mov ah,3Eh; stosw; pop ax; and al,0Fh
    a.b(0x04, 0x30, 0xb4, 0x3e, 0xab, 0xc3); //        add al,'0'; mov ah,3Eh; stosw; ret
    a.label('texts');
    for (const [row, col, attr, text] of TEXTS) {
      a.w(at(row, col));
      a.b(attr, ...new TextEncoder().encode(text), 0);
    }
    a.w(0xffff);
  });
  if (code.length > 510) throw new Error(`demo boot sector is ${code.length} bytes; at most 510 fit`);
  const sector = new Uint8Array(512);
  sector.set(code, 0);
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
