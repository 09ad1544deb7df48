// Guest boots through the public board API with SeaBIOS: the guests from ../shared/guests
// (INDEX.md) must reach their success markers on the text screen.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../core/board/pc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { sharedFile } from '../helpers/shared.js';
import { floppyConfig, seabiosAvailable } from '../board/board-helpers.js';

/** Run until `marker` is on the text screen; returns the instructions it took, or -1. */
export function runUntilScreen(m: PcMachine, marker: string, maxInstructions: number): number {
  while (m.instructionCount < maxInstructions) {
    const stop = m.run(2_000_000);
    if (stop === 'poweroff') return -1;
    m.updateScreen();
    if (m.screen().text.includes(marker)) return m.instructionCount;
  }
  return -1;
}

function floppy(name: string): MemoryBlockDevice | null {
  const path = sharedFile('guests', name);
  if (!path) return null;
  // A private copy: the guest may write to its floppy.
  return new MemoryBlockDevice(new Uint8Array(readFileSync(path)));
}

describe('guest boots with SeaBIOS', () => {
  it('FreeDOS 7.22 floppy reaches the welcome line and the A:\\> prompt', () => {
    if (!seabiosAvailable()) return;
    const img = floppy('freedos722.img');
    if (!img) return;
    const m = new PcMachine(floppyConfig(img, { bootOrder: 'a', memoryMiB: 64 }));
    const n = runUntilScreen(m, 'A:\\>', 400_000_000);
    const text = m.screen().text;
    expect(text).toContain('Welcome to FreeDOS (http://www.freedos.org)!');
    expect(n).toBeGreaterThan(0);
    // HIMEM found A20 and extended memory.
    expect(text).toContain('XMS');
    // Typing through the 8042: the shell answers VER.
    m.input({ type: 'text', text: 'ver\n' });
    const typed = runUntilScreen(m, 'A:\\>ver', m.instructionCount + 200_000_000);
    expect(typed).toBeGreaterThan(0);
    m.run(20_000_000);
    m.updateScreen();
    // The shell's answer, then a fresh prompt.
    expect(m.screen().text).toMatch(/A:\\>ver\s+FreeCom version 0\.82 pl 3[^\n]*\s+A:\\>/);
  });

  it('MikeOS 4.6.1 floppy shows its welcome dialog', () => {
    if (!seabiosAvailable()) return;
    const img = floppy('mikeos-4.6.1.flp');
    if (!img) return;
    const m = new PcMachine(floppyConfig(img, { bootOrder: 'a' }));
    const n = runUntilScreen(m, 'Thanks for trying out MikeOS!', 400_000_000);
    expect(n).toBeGreaterThan(0);
  });

  it('minimal FreeDOS boot disks in four geometries reach A:\\>', () => {
    if (!seabiosAvailable()) return;
    for (const name of ['freedos-boot-1.4MB.img', 'freedos-boot-720K.img', 'freedos-boot-360K.img', 'freedos-boot-160K.img']) {
      const img = floppy(name);
      if (!img) return;
      const m = new PcMachine(floppyConfig(img, { bootOrder: 'a' }));
      const n = runUntilScreen(m, 'A:\\>', 300_000_000);
      expect(n, name).toBeGreaterThan(0);
    }
  });
});

describe('hard disk guest through perseus run (raw image, copy-on-write)', () => {
  it('FreeDOS on a 32 MB IDE disk reaches FREEDOS-HDD-READY and leaves the image untouched', async () => {
    if (!seabiosAvailable()) return;
    const gz = sharedFile('guests', 'freedos-hdd-32m.img.gz');
    if (!gz) return;
    const { gunzipSync } = await import('node:zlib');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createHash } = await import('node:crypto');
    const { runCommand } = await import('../../main/run/run.js');
    const path = join(mkdtempSync(join(tmpdir(), 'perseus-hdd-')), 'fd.img');
    writeFileSync(path, gunzipSync(readFileSync(gz)));
    const hash = () => createHash('sha256').update(readFileSync(path)).digest('hex');
    const before = hash();
    const code = await runCommand(['--hda', path, '--deterministic', '--until', 'FREEDOS-HDD-READY', '--timeout', '120']);
    expect(code).toBe(0);
    expect(hash()).toBe(before);
  });
});

describe('graphical guest', () => {
  it('KolibriOS switches to VBE 800x600 and draws its desktop', () => {
    if (!seabiosAvailable()) return;
    const img = floppy('kolibri.img');
    if (!img) return;
    const m = new PcMachine(floppyConfig(img, { bootOrder: 'a', memoryMiB: 128 }));
    let colours = 0;
    while (m.instructionCount < 1_500_000_000) {
      m.run(10_000_000);
      m.updateScreen();
      const s = m.screen();
      if (!s.mode.startsWith('vbe 800x600')) continue;
      // The desktop is drawn when the frame holds many colours (icons on a gradient).
      const seen = new Set<number>();
      const px = new Uint32Array(s.rgba.buffer, s.rgba.byteOffset, s.width * s.height);
      for (let i = 0; i < px.length; i += 97) seen.add(px[i]);
      colours = seen.size;
      if (colours > 200) break;
    }
    expect(m.screen().mode).toMatch(/^vbe 800x600/);
    expect(colours).toBeGreaterThan(200);
  });
});
