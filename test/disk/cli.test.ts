// `perseus disk` through the CLI dispatcher (in-process), checked against qemu-img where it
// is installed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIO } from '../../main/cli/index.js';
import { openDiskImage } from '../../main/disk/index.js';
import { firstDifference, haveQemuImg, qemuImg, qemuImgStatus, readAll, sampleDisk, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

async function perseus(args: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdin = new PassThrough();
  stdin.end();
  const io: CliIO = {
    stdout: { write: (s: string) => (out += s) },
    stderr: Object.assign({ write: (s: string) => (err += s) }, tty ? { isTTY: true } : {}),
    stdin,
    interactive: false,
    env: {},
    cwd: dir,
  };
  const code = await main(['disk', ...args], io);
  return { code, out, err };
}

describe('perseus disk', () => {
  it('create makes images of every format with the requested size', async () => {
    for (const fmt of ['qcow2', 'raw', 'vdi', 'vmdk', 'vpc']) {
      const r = await perseus(['create', '-f', fmt, `new.${fmt}`, '10M']);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain(`new.${fmt}`);
      const image = openDiskImage(join(dir, `new.${fmt}`));
      expect(image.size).toBeGreaterThanOrEqual(10 << 20);
      image.close();
    }
    const again = await perseus(['create', '-f', 'qcow2', 'new.qcow2', '1M']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists/);
  });

  it('info prints the format, size and backing file; --json for scripts', async () => {
    writeFileSync(join(dir, 'base.img'), new Uint8Array(4 << 20));
    expect((await perseus(['create', '-f', 'qcow2', '-b', 'base.img', 'child.qcow2'])).code).toBe(0);
    const text = await perseus(['info', 'child.qcow2']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/file format: qcow2/);
    expect(text.out).toMatch(/virtual size: 4\.00 MiB \(4194304 bytes\)/);
    expect(text.out).toMatch(/backing file: base\.img \(format raw\)/);
    const json = await perseus(['info', '--json', 'child.qcow2']);
    const parsed = JSON.parse(json.out) as { format: string; virtualSize: number; backingFile: string };
    expect(parsed).toMatchObject({ format: 'qcow2', virtualSize: 4 << 20, backingFile: 'base.img' });
  });

  it('convert copies contents exactly and draws a progress bar only on a terminal', async () => {
    const source = sampleDisk(6 << 20, 4);
    writeFileSync(join(dir, 'src.raw'), source);
    const plain = await perseus(['convert', '-O', 'qcow2', 'src.raw', 'out.qcow2']);
    expect(plain.code, plain.err).toBe(0);
    expect(plain.err).toBe('');
    const tty = await perseus(['convert', '-O', 'vdi', 'out.qcow2', 'out.vdi'], true);
    expect(tty.code, tty.err).toBe(0);
    expect(tty.err).toMatch(/convert \[#+\] 100%/);
    const image = openDiskImage(join(dir, 'out.vdi'));
    expect(firstDifference(readAll(image), source)).toBe(-1);
    image.close();
    if (haveQemuImg()) {
      expect(qemuImgStatus('compare', '-f', 'raw', '-F', 'vdi', join(dir, 'src.raw'), join(dir, 'out.vdi')).status).toBe(0);
    }
  });

  it('check reports a clean image, and errors with exit code 1 for a damaged one', async () => {
    const ok = await perseus(['check', 'out.qcow2']);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(ok.out).toMatch(/No errors were found/);
    // Point an L2 entry past the end of the file.
    const bytes = new Uint8Array(readFileSync(join(dir, 'out.qcow2')));
    const v = new DataView(bytes.buffer);
    const l1 = Number(v.getBigUint64(40));
    const l2 = Number(v.getBigUint64(l1) & 0x00fffffffffffe00n);
    v.setBigUint64(l2, 0x8000000000000000n | BigInt(bytes.length + 65536 * 100));
    writeFileSync(join(dir, 'bad.qcow2'), bytes);
    const bad = await perseus(['check', '--json', 'bad.qcow2']);
    expect(bad.code).toBe(1);
    const parsed = JSON.parse(bad.out) as { errors: string[] };
    expect(parsed.errors.join('\n')).toMatch(/beyond the end of the file/);
    if (haveQemuImg()) expect(qemuImgStatus('check', join(dir, 'bad.qcow2')).status).not.toBe(0);
  });

  it('usage errors exit 2 with a pointer to help', async () => {
    const r = await perseus(['convert', 'a', 'b']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/-O FMT is required/);
    expect((await perseus(['frobnicate'])).code).toBe(2);
    expect((await perseus(['create', '-f', 'qed', 'x', '1M'])).err).toMatch(/unknown format "qed"/);
    const help = await perseus(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/perseus disk convert/);
    const missing = await perseus(['info', 'nope.qcow2']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.qcow2: no such file/);
  });

  it.skipIf(!existsSync('/usr/bin/qemu-img'))('create output is accepted by qemu-img', async () => {
    expect((await perseus(['create', '-f', 'qcow2', '--cluster-size', '4K', 'q.qcow2', '1G'])).code).toBe(0);
    const info = JSON.parse(qemuImg('info', '--output=json', join(dir, 'q.qcow2'))) as { 'virtual-size': number; 'cluster-size': number };
    expect(info).toMatchObject({ 'virtual-size': 1 << 30, 'cluster-size': 4096 });
    expect(qemuImgStatus('check', join(dir, 'q.qcow2')).status).toBe(0);
  });
});
