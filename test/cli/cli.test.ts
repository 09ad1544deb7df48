// `perseus` end to end: the committed launcher (main/cli/perseus.mjs) running the built CLI
// from dist/, against a temporary data directory.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmRecord } from '../../core/api/contract.js';
import { main, type CliIO } from '../../main/cli/index.js';
import { VmLibrary } from '../../main/library/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { ensureBuilt } from './ensure-built.js';

const LAUNCHER = join(REPO_ROOT, 'main', 'cli', 'perseus.mjs');
let dir: string;
let data: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'perseus-cli-'));
  data = join(dir, 'data');
  writeFileSync(join(dir, 'boot.img'), Buffer.alloc(1474560));
  writeFileSync(join(dir, 'hd.img'), Buffer.alloc(1024 * 1024));
  const iso = Buffer.alloc(0x9000);
  iso.write('CD001', 0x8001, 'latin1');
  writeFileSync(join(dir, 'cd.iso'), iso);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result { code: number | null; stdout: string; stderr: string }

function perseus(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Result {
  const env: NodeJS.ProcessEnv = { ...process.env, PERSEUS_DATA_DIR: data, ...opts.env };
  const r = spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: opts.cwd ?? dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T>(r: Result): T {
  return JSON.parse(r.stdout) as T;
}

describe('perseus CLI (built launcher)', () => {
  it('--help lists the commands, global options and exit codes', () => {
    const r = perseus(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Perseus Workstation \d+\.\d+\.\d+/);
    for (const name of ['vm', 'run', 'web']) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(r.stdout).toContain('3  not found');
    expect(r.stdout).toContain('4  validation failed');
    expect(r.stderr).toBe('');
  });

  it('npx perseus --help prints the usage', () => {
    const r = spawnSync('npx', ['--no-install', 'perseus', '--help'], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, PERSEUS_DATA_DIR: data } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: perseus [--data-dir DIR] <command> [options]');
  });

  it('no command is a usage error; --version prints the package version', () => {
    const none = perseus([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('Usage: perseus');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(perseus(['--version']).stdout).toBe(`perseus ${pkg.version}\n`);
  });

  it('unknown commands, subcommands and options exit 2 with a suggestion', () => {
    expect(perseus(['vn', 'list'])).toMatchObject({ code: 2, stderr: 'perseus: unknown command "vn" (did you mean "vm"?)\nRun "perseus --help" for usage.\n' });
    expect(perseus(['vm', 'lst'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown subcommand "lst" (did you mean "list"?)') });
    expect(perseus(['vm', 'create', 'x', '--memroy', '8'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown option --memroy (did you mean --memory?)') });
    expect(perseus(['vm', 'create'])).toMatchObject({ code: 2, stderr: expect.stringContaining('missing NAME') });
    expect(perseus(['vm', 'create', 'a', 'b'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unexpected argument "b" (quote names that contain spaces)') });
  });

  it('vm create makes a VM from a preset with images relative to the current folder', () => {
    const r = perseus(['vm', 'create', 'DOS 6.22', '--preset', 'dos', '--memory', '16', '--fda', 'boot.img', '--hda', 'hd.img', '--cdrom', 'cd.iso', '--boot', 'CA', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const vm = json<VmRecord>(r);
    expect(vm).toMatchObject({
      name: 'DOS 6.22', osPreset: 'dos', memoryMiB: 16, bootOrder: 'ca', floppyA: join(dir, 'boot.img'), state: 'off',
      ide: { primaryMaster: { kind: 'disk', path: join(dir, 'hd.img') }, secondaryMaster: { kind: 'cdrom', path: join(dir, 'cd.iso') } },
      nic: { model: 'ne2k-isa', network: 'nat' },
    });
    // It really is in the library of PERSEUS_DATA_DIR.
    const lib = VmLibrary.open(data);
    expect(lib.get(vm.id)).toEqual(vm);
    lib.close();
    expect(existsSync(join(data, 'vms', vm.id))).toBe(true);
  });

  it('vm create reports validation failures with exit 4, as text and as JSON', () => {
    const text = perseus(['vm', 'create', 'bad', '--memory', '9000', '--fda', 'missing.img']);
    expect(text.code).toBe(4);
    expect(text.stderr).toBe(
      'perseus vm create: the settings are not valid:\n' +
      '  memoryMiB: Memory must be between 1 and 3584 MiB, not 9000\n' +
      `  floppyA: Floppy A: image file not found: ${join(dir, 'missing.img')}\n`,
    );
    const j = perseus(['vm', 'create', 'DOS 6.22', '--json']);
    expect(j.code).toBe(4);
    expect(json<{ error: unknown }>(j).error).toEqual({
      code: 'invalid', message: 'Another VM is already named "DOS 6.22"', issues: [{ field: 'name', message: 'Another VM is already named "DOS 6.22"' }],
    });
    expect(perseus(['vm', 'create', 'x', '--hdc', 'hd.img', '--cdrom', 'cd.iso']).code).toBe(2);
    expect(perseus(['vm', 'create', 'x', '--memory', 'much']).stderr).toContain('--memory needs a whole number, not "much"');
  });

  it('vm list, show (by name, case-insensitive, and id prefix) and not found', () => {
    const list = json<VmRecord[]>(perseus(['vm', 'list', '--json']));
    expect(list.map((v) => v.name)).toEqual(['DOS 6.22']);
    const id = list[0]!.id;
    const table = perseus(['vm', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME +ID +OS +MEMORY +STATE +MODIFIED$/);
    expect(table.stdout).toContain(`DOS 6.22  ${id.slice(0, 8)}  dos  16 MiB  off`);
    expect(json<VmRecord>(perseus(['vm', 'show', 'dos 6.22', '--json'])).id).toBe(id);
    const shown = perseus(['vm', 'show', id.slice(0, 6)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Boot order:           ca (hard disk, floppy)');
    expect(shown.stdout).toContain(`IDE secondary master: CD-ROM ${join(dir, 'cd.iso')}`);
    const missing = perseus(['vm', 'show', 'Nope', '--json']);
    expect(missing.code).toBe(3);
    expect(json<{ error: { code: string } }>(missing).error.code).toBe('not-found');
    expect(missing.stderr).toBe('perseus vm show: no VM named or with id "Nope"\n');
  });

  it('vm edit changes only the given settings', () => {
    const before = json<VmRecord>(perseus(['vm', 'show', 'DOS 6.22', '--json']));
    const r = perseus(['vm', 'edit', 'DOS 6.22', '--memory', '64', '--cdrom', 'empty', '--lan', 'lab', '--name', 'DOS', '--json']);
    expect(r.code).toBe(0);
    const after = json<VmRecord>(r);
    expect(after).toEqual({
      ...before, name: 'DOS', memoryMiB: 64, modifiedAt: after.modifiedAt,
      ide: { ...before.ide, secondaryMaster: { kind: 'cdrom', path: null } },
      nic: { model: 'ne2k-isa', network: 'lan', lanSegment: 'lab' },
    });
    expect(perseus(['vm', 'edit', 'DOS']).code).toBe(2);
    const bad = perseus(['vm', 'edit', 'DOS', '--vram', '3', '--boot', 'x']);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain('display.vramMiB: Video memory must be a power of two between 1 and 64 MiB, not 3');
    expect(bad.stderr).toContain('bootOrder: Boot order "x" contains "x"');
    expect(perseus(['vm', 'edit', 'ghost', '--memory', '8']).code).toBe(3);
  });

  it('refuses hardware edits of a running VM with exit 1', () => {
    const lib = VmLibrary.open(data);
    const vm = lib.create({ name: 'busy' });
    lib.setPowerState(vm.id, 'running');
    lib.close();
    const r = perseus(['vm', 'edit', 'busy', '--memory', '8']);
    expect(r).toMatchObject({ code: 1, stderr: 'perseus vm edit: "busy" is running; power it off to change memoryMiB\n' });
    expect(perseus(['vm', 'delete', 'busy', '--keep-files']).code).toBe(1);
    const lib2 = VmLibrary.open(data);
    lib2.setPowerState(vm.id, 'off');
    lib2.close();
  });

  it('vm delete: needs --keep-files or --delete-files without a terminal, deletes only the VM folder', () => {
    const vm = json<VmRecord>(perseus(['vm', 'show', 'DOS', '--json']));
    const refused = perseus(['vm', 'delete', 'DOS']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--keep-files or --delete-files (there is no terminal to ask)');
    expect(perseus(['vm', 'delete', 'DOS', '--keep-files', '--delete-files']).code).toBe(2);
    expect(perseus(['vm', 'show', 'DOS']).code).toBe(0);

    const own = join(data, 'vms', vm.id, 'disk.img');
    writeFileSync(own, 'x');
    const r = perseus(['vm', 'delete', 'DOS', '--delete-files', '--json']);
    expect(r.code).toBe(0);
    expect(json(r)).toEqual({ id: vm.id, name: 'DOS', keptFiles: false, deletedFiles: [own] });
    expect(existsSync(own)).toBe(false);
    expect(existsSync(join(dir, 'hd.img'))).toBe(true);
    expect(perseus(['vm', 'show', 'DOS']).code).toBe(3);

    const kept = perseus(['vm', 'delete', 'busy', '--keep-files']);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/^Deleted VM "busy"; its folder .* was kept\.\n$/);
  });

  it('--data-dir before the command or after it, and the presets listing', () => {
    const other = join(dir, 'other-data');
    expect(perseus(['--data-dir', other, 'vm', 'create', 'elsewhere']).code).toBe(0);
    expect(json<VmRecord[]>(perseus(['vm', 'list', '--json', '--data-dir', other])).map((v) => v.name)).toEqual(['elsewhere']);
    expect(json<VmRecord[]>(perseus(['vm', 'list', '--json'])).map((v) => v.name)).not.toContain('elsewhere');
    const presets = json<{ preset: string }[]>(perseus(['vm', 'presets', '--json']));
    expect(presets.map((p) => p.preset)).toEqual(['dos', 'win9x', 'linux', 'other']);
  });

  it('help for a command and a subcommand', () => {
    expect(perseus(['vm', '--help']).stdout).toContain('Usage: perseus vm <subcommand>');
    expect(perseus(['help', 'vm']).stdout).toContain('Usage: perseus vm <subcommand>');
    const create = perseus(['vm', 'create', '--help']);
    expect(create.code).toBe(0);
    expect(create.stdout).toContain('--memory MIB');
    expect(create.stdout).toContain('--cdrom ISO');
  });

  it('perseus web starts the web console and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [LAUNCHER, 'web', '--port', '0', '--json', '--data-dir', join(dir, 'web-data')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const first = await new Promise<string>((done, fail) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) done(out.split('\n')[0]!);
      });
      child.on('exit', (code) => fail(new Error(`perseus web exited ${code}: ${err}`)));
    });
    const info = JSON.parse(first) as { url: string; token: string; dataDir: string };
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(info.token.length).toBeGreaterThan(16);
    expect(info.dataDir).toBe(join(dir, 'web-data'));
    const page = await fetch(new URL('/', info.url));
    expect(page.status).toBeLessThan(500);
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});

describe('perseus CLI in-process (interactive questions)', () => {
  function io(answer: string): { io: CliIO; out: () => string; err: () => string } {
    let out = '';
    let err = '';
    const stdin = new PassThrough();
    stdin.end(answer);
    return {
      io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, stdin, interactive: true, env: { PERSEUS_DATA_DIR: join(dir, 'tty') }, cwd: dir },
      out: () => out,
      err: () => err,
    };
  }

  it('asks on a terminal whether to keep the files; cancel deletes nothing', async () => {
    const lib = VmLibrary.open(join(dir, 'tty'));
    const a = lib.create({ name: 'a' });
    lib.create({ name: 'b' });
    lib.create({ name: 'c' });
    mkdirSync(join(lib.vmDir(a.id), 'sub'));
    writeFileSync(join(lib.vmDir(a.id), 'sub', 'f'), 'x');
    lib.close();

    const cancel = io('\n');
    expect(await main(['vm', 'delete', 'a'], cancel.io)).toBe(1);
    expect(cancel.err()).toContain('Delete VM "a"? Its folder');
    expect(cancel.err()).toContain('holds 1 file.');
    expect(cancel.err()).toMatch(/cancel: Cancelled; nothing was deleted\.\n$/);
    expect(cancel.out()).toBe('');

    const keep = io('k\n');
    expect(await main(['vm', 'delete', 'a'], keep.io)).toBe(0);
    expect(keep.out()).toContain('was kept.');

    const del = io('d\n');
    expect(await main(['vm', 'delete', 'b', '--json'], del.io)).toBe(0);
    expect(JSON.parse(del.out())).toMatchObject({ name: 'b', keptFiles: false });

    const eof = io('');
    expect(await main(['vm', 'delete', 'c'], eof.io)).toBe(1);
    const after = VmLibrary.open(join(dir, 'tty'));
    expect(after.list().map((v) => v.name)).toEqual(['c']);
    after.close();
  });
});
