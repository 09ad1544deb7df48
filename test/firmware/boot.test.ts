// Guests boot with the built-in firmware; non-bootable media are reported on screen.
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { sharedFile } from '../helpers/shared.js';
import { builtinPc, runUntilScreen, sharedImage } from './helpers.js';

describe('built-in firmware boots guests', () => {
  it('FreeDOS 7.22 floppy: welcome line, HIMEM finds XMS, prompt answers VER typed on the keyboard', () => {
    const img = sharedImage('freedos722.img');
    if (!img) return;
    const { m } = builtinPc({ floppy: [img, null], memoryMiB: 64 });
    expect(runUntilScreen(m, 'A:\\>', 150_000_000)).toBeGreaterThan(0);
    const text = m.screen().text;
    expect(text).toContain('Perseus BIOS');
    expect(text).toContain('Welcome to FreeDOS (http://www.freedos.org)!');
    expect(text).toContain('XMS 2.00 80386 64MB');
    m.input({ type: 'text', text: 'ver\n' });
    expect(runUntilScreen(m, 'FreeCom version 0.82 pl 3', m.instructionCount + 100_000_000)).toBeGreaterThan(0);
    // Ctrl+Alt+Del at the DOS prompt: INT 09h reboots the machine, which comes up again.
    m.input({ type: 'combo', combo: 'ctrl-alt-del' });
    let reset = false;
    for (let i = 0; i < 50 && !reset; i++) reset = m.run(1_000_000) === 'reset';
    expect(reset).toBe(true);
    expect(runUntilScreen(m, 'Welcome to FreeDOS', m.instructionCount + 150_000_000)).toBeGreaterThan(0);
  });

  it('MikeOS 4.6.1 floppy shows its welcome dialog', () => {
    const img = sharedImage('mikeos-4.6.1.flp');
    if (!img) return;
    const { m } = builtinPc({ floppy: [img, null] });
    expect(runUntilScreen(m, 'Thanks for trying out MikeOS!', 100_000_000)).toBeGreaterThan(0);
  });

  it('FreeDOS hard disk boots through INT 13h with 16 heads / 63 sectors', () => {
    const path = sharedFile('guests', 'freedos-hdd-32m.img.gz');
    if (!path) return;
    const disk = new MemoryBlockDevice(new Uint8Array(gunzipSync(readFileSync(path))));
    const { m } = builtinPc({ bootOrder: 'c', ide: [{ kind: 'disk', device: disk }, null, null, null] });
    expect(runUntilScreen(m, 'FREEDOS-HDD-READY', 300_000_000)).toBeGreaterThan(0);
  });

  it('MikeOS CD boots through El Torito floppy emulation', () => {
    const cd = sharedImage('mikeos-4.6.1.iso');
    if (!cd) return;
    const { m } = builtinPc({ bootOrder: 'd', ide: [null, null, { kind: 'cdrom', device: cd }, null] });
    expect(runUntilScreen(m, 'Thanks for trying out MikeOS!', 50_000_000)).toBeGreaterThan(0);
  });

  it('KolibriOS floppy switches to VBE 800x600x32 (its default, mode 143h) with the LFB and draws its desktop', () => {
    const img = sharedImage('kolibri.img');
    if (!img) return;
    const { m } = builtinPc({ floppy: [img, null], memoryMiB: 128 });
    expect(runUntilScreen(m, 'Version of VESA: 3.0', 20_000_000)).toBeGreaterThan(0);
    expect(m.screen().text).toContain('Perseus VGA BIOS');
    let colours = 0;
    while (m.instructionCount < 300_000_000 && colours <= 200) {
      m.run(10_000_000);
      m.updateScreen();
      const s = m.screen();
      if (s.mode !== 'vbe 800x600x32') continue;
      // The desktop is drawn when the frame holds many colours (icons on a gradient).
      const seen = new Set<number>();
      const px = new Uint32Array(s.rgba.buffer, s.rgba.byteOffset, s.width * s.height);
      for (let i = 0; i < px.length; i += 97) seen.add(px[i]);
      colours = seen.size;
    }
    expect(m.screen().mode).toBe('vbe 800x600x32');
    expect(colours).toBeGreaterThan(200);
  });

  it('the Linux CD boots isolinux without emulation, which loads the kernel and initrd through INT 13h 42h', () => {
    const cd = sharedImage('linux-shell-i686.iso');
    if (!cd) return;
    const { m } = builtinPc({ bootOrder: 'd', memoryMiB: 128, ide: [null, null, { kind: 'cdrom', device: cd }, null] });
    expect(runUntilScreen(m, 'Loading initrd.gz...ok', 100_000_000)).toBeGreaterThan(0);
    expect(m.screen().text).toContain('Loading vmlinuz... ok');
  });
});

describe('built-in firmware reports what does not boot', () => {
  it('a CD without El Torito is named', () => {
    const cd = new MemoryBlockDevice(new Uint8Array(64 * 2048));
    const { m, fw } = builtinPc({ bootOrder: 'd', ide: [null, null, { kind: 'cdrom', device: cd }, null] });
    expect(runUntilScreen(m, 'No bootable device', 5_000_000)).toBeGreaterThan(0);
    expect(m.screen().text).toContain('This is not a bootable CD (no El Torito boot record).');
    expect(fw.messages).toEqual(['This is not a bootable CD (no El Torito boot record).', 'No bootable device.']);
  });

  it('an unformatted floppy and an empty hard disk are named, then "No bootable device"', () => {
    const floppy = new MemoryBlockDevice(new Uint8Array(1474560));
    const disk = new MemoryBlockDevice(new Uint8Array(4 * 1024 * 1024));
    const { m, fw } = builtinPc({ bootOrder: 'ac', floppy: [floppy, null], ide: [{ kind: 'disk', device: disk }, null, null, null] });
    expect(runUntilScreen(m, 'No bootable device', 5_000_000)).toBeGreaterThan(0);
    const text = m.screen().text;
    expect(text).toContain('This is not a bootable floppy');
    expect(text).toContain('This is not a bootable disk');
    expect(fw.messages).toEqual([
      'This is not a bootable floppy (no boot signature).',
      'This is not a bootable disk (no boot signature).',
      'No bootable device.',
    ]);
    // The machine keeps running (halted with interrupts on: the timer ticks).
    const ticks = m.memory.read32(0x46c);
    m.run(20_000_000);
    expect(m.memory.read32(0x46c)).toBeGreaterThan(ticks);
  });

  it('with no media at all it says "No bootable device"', () => {
    const { m } = builtinPc({ bootOrder: 'acd' });
    expect(runUntilScreen(m, 'No bootable device', 5_000_000)).toBeGreaterThan(0);
  });
});

describe('boot timing', () => {
  it('measurePowerOnToBootSector stops at the boot sector of a FreeDOS floppy', async () => {
    const { measurePowerOnToBootSector } = await import('../../core/firmware/bench.js');
    const img = sharedImage('freedos722.img');
    if (!img) return;
    const { m } = builtinPc({ floppy: [img, null] });
    const t = measurePowerOnToBootSector(m.config);
    expect(Number.isFinite(t.hostMs)).toBe(true);
    // POST is a handful of instructions: everything happens in the trap.
    expect(t.instructions).toBeGreaterThan(0);
    expect(t.instructions).toBeLessThan(1000);
  });
});

describe('floppy geometries', () => {
  for (const name of ['freedos-boot-1.4MB.img', 'freedos-boot-720K.img', 'freedos-boot-360K.img', 'freedos-boot-160K.img']) {
    it(`${name} boots to A:\\>`, () => {
      const img = sharedImage(name);
      if (!img) return;
      const { m } = builtinPc({ floppy: [img, null] });
      expect(runUntilScreen(m, 'A:\\>', 60_000_000)).toBeGreaterThan(0);
    });
  }
});

describe('option ROMs', () => {
  it('a ROM at C0000 with a valid header and checksum is called during POST, then the machine boots', () => {
    const rom = new Uint8Array(4096);
    // 55 AA, 1 block of 512; at 3: push ds; xor ax,ax; mov ds,ax; mov word [500h],0BEEFh; pop ds; retf
    rom.set([0x55, 0xaa, 0x01, 0x1e, 0x31, 0xc0, 0x8e, 0xd8, 0xc7, 0x06, 0x00, 0x05, 0xef, 0xbe, 0x1f, 0xcb]);
    rom[511] = (256 - (rom.subarray(0, 511).reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
    const { m } = builtinPc({ vgaRom: rom });
    expect(runUntilScreen(m, 'No bootable device', 3_000_000)).toBeGreaterThan(0);
    expect(m.memory.read16(0x500)).toBe(0xbeef);
  });

  it('a ROM with a bad checksum is skipped', () => {
    const rom = new Uint8Array(4096);
    rom.set([0x55, 0xaa, 0x01, 0x1e, 0x31, 0xc0, 0x8e, 0xd8, 0xc7, 0x06, 0x00, 0x05, 0xef, 0xbe, 0x1f, 0xcb]);
    rom[511] = 1;
    const { m } = builtinPc({ vgaRom: rom });
    expect(runUntilScreen(m, 'No bootable device', 3_000_000)).toBeGreaterThan(0);
    expect(m.memory.read16(0x500)).toBe(0);
  });
});

describe('INT 15h AH=86h', () => {
  it('waits the requested virtual time with the CPU halted between interrupts', () => {
    const { m } = builtinPc({ bootOrder: '' });
    expect(runUntilScreen(m, 'No bootable device', 2_000_000)).toBeGreaterThan(0);
    // A boot sector of our own at 0:7C00: mov cx,0Fh; mov dx,4240h (1 s); mov ah,86h; int 15h; hlt
    m.memory.writeBytes(0x7c00, new Uint8Array([0xb9, 0x0f, 0x00, 0xba, 0x40, 0x42, 0xb4, 0x86, 0xcd, 0x15, 0xfa, 0xf4]));
    m.cpu.loadSegmentReal(1, 0);
    m.cpu.eip = 0x7c00;
    const start = m.clock.now();
    let guard = 0;
    while (m.cpu.eip !== 0x7c0c && guard++ < 10_000) m.run(10_000);
    const waited = m.clock.now() - start;
    expect(m.cpu.eip).toBe(0x7c0c);
    expect(waited).toBeGreaterThanOrEqual(1e9);
    expect(waited).toBeLessThan(1.2e9);
  });
});
