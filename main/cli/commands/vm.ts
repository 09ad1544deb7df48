// `perseus vm list|create|show|edit|delete|presets`: the VM library from the command line.
import { lstatSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { IDE_SLOTS, type IdeSlot, type VmRecord, type VmSettings } from '../../../core/api/contract.js';
import { listPresets, presetInfo, type VmLibrary } from '../../library/index.js';
import { UsageError, didYouMean, formatOptions, parseArgs, type OptionSpecs, type ParsedOptions } from '../args.js';
import { EXIT, openLibrary, reportError, type CliCommand, type CliIO } from '../context.js';
import { formatForward, formatMac, parseForwardSpec, vmMac } from '../../net/nic-settings.js';

const COMMON = {
  json: { type: 'boolean', help: 'Print the result as JSON (errors as {"error": {code, message, issues}})' },
  'data-dir': { type: 'string', value: 'DIR', help: 'Data directory holding library.db' },
  help: { type: 'boolean', short: 'h', help: 'Show this help' },
} satisfies OptionSpecs;

const SETTINGS = {
  preset: { type: 'string', value: 'OS', help: 'Guest OS preset: dos, win9x, linux, other (create: sets the defaults)' },
  memory: { type: 'integer', value: 'MIB', help: 'Guest memory in MiB (1-3584)' },
  cpu: { type: 'string', value: 'MODEL', help: 'CPU model: pentium2 (Pentium II with MMX), pentium-pro, pentium, 486' },
  firmware: { type: 'string', value: 'FW', help: 'builtin, seabios, or the path of a BIOS ROM file' },
  boot: { type: 'string', value: 'ORDER', help: 'Boot order of a (floppy), c (hard disk), d (CD-ROM), e.g. cda' },
  'boot-menu': { type: 'integer', value: 'MS', help: 'Show the boot-menu prompt (F12) this long at power-on, 0-60000 ms; 0: none' },
  fda: { type: 'string', value: 'IMAGE', help: 'Floppy A: image, or "none"' },
  fdb: { type: 'string', value: 'IMAGE', help: 'Floppy B: image, or "none"' },
  hda: { type: 'string', value: 'IMAGE', help: 'Hard disk on IDE primary master, or "none"' },
  hdb: { type: 'string', value: 'IMAGE', help: 'Hard disk on IDE primary slave, or "none"' },
  hdc: { type: 'string', value: 'IMAGE', help: 'Hard disk on IDE secondary master, or "none"' },
  hdd: { type: 'string', value: 'IMAGE', help: 'Hard disk on IDE secondary slave, or "none"' },
  cdrom: { type: 'string', value: 'ISO', help: 'CD-ROM on IDE secondary master: an image, "empty" (no disc) or "none"' },
  nic: { type: 'string', value: 'MODEL', help: 'Network adapter: ne2k-pci, ne2k-isa, rtl8139, none' },
  net: { type: 'string', value: 'MODE', help: 'Network: nat, lan, none' },
  lan: { type: 'string', value: 'SEGMENT', help: 'LAN segment name (implies --net lan)' },
  forward: { type: 'string', value: 'SPEC', multiple: true, help: 'NAT port forward tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT, e.g. tcp:2222:22 (repeatable; replaces the list; "none" clears it)' },
  capture: { type: 'string', value: 'FILE', help: 'Record the network traffic to a pcap file, or "none"' },
  mac: { type: 'string', value: 'MAC', help: 'Adapter MAC address, e.g. 52:54:00:12:34:56, or "auto" (derived from the VM id)' },
  cable: { type: 'string', value: 'on|off', help: 'Network cable connected (on) or unplugged (off)' },
  vram: { type: 'integer', value: 'MIB', help: 'Video memory in MiB (a power of two, 1-64)' },
  notes: { type: 'string', value: 'TEXT', help: 'Free-form notes' },
} satisfies OptionSpecs;

const SPECS = {
  list: COMMON,
  create: { ...SETTINGS, ...COMMON },
  show: COMMON,
  edit: { name: { type: 'string', value: 'NEW', help: 'Rename the VM' }, ...SETTINGS, ...COMMON },
  delete: {
    'keep-files': { type: 'boolean', help: "Remove the VM from the library but keep its folder" },
    'delete-files': { type: 'boolean', help: "Also delete the VM's folder (vms/<id>/); images elsewhere are never deleted" },
    ...COMMON,
  },
  presets: COMMON,
} satisfies Record<string, OptionSpecs>;

type Sub = keyof typeof SPECS;
const SUBCOMMANDS = Object.keys(SPECS) as Sub[];

const SYNOPSIS: Record<Sub, string> = {
  list: 'perseus vm list [--json]',
  create: 'perseus vm create NAME [--preset OS] [--memory MIB] [--fda IMAGE] [--hda IMAGE] [--cdrom ISO] [--boot ORDER] ...',
  show: 'perseus vm show NAME|ID [--json]',
  edit: 'perseus vm edit NAME|ID [--name NEW] [--memory MIB] ... (only the options given change)',
  delete: 'perseus vm delete NAME|ID --keep-files|--delete-files [--json]',
  presets: 'perseus vm presets [--json]',
};

const ABOUT: Record<Sub, string> = {
  list: 'List the VMs in the library.',
  create: 'Create a VM. Settings not given take the preset\'s defaults (see "perseus vm presets").\nImage paths are taken relative to the current folder.',
  show: 'Show a VM\'s settings. NAME|ID is a name, an id, or the first characters (4 or more) of an id.',
  edit: 'Change a VM\'s settings. Hardware cannot change while the VM is powered on or suspended.',
  delete: 'Delete a VM. On a terminal you are asked about its files when neither\n--keep-files nor --delete-files is given; elsewhere one of them is required.',
  presets: 'List the guest OS presets and their defaults.',
};

function vmUsage(): string {
  return `Usage: perseus vm <subcommand> [options]

Subcommands:
${SUBCOMMANDS.map((s) => `  ${s.padEnd(9)}${ABOUT[s].split('\n')[0]}`).join('\n')}

Run "perseus vm <subcommand> --help" for its options. Exit codes: 0 ok, 1 failure,
2 usage error, 3 VM not found, 4 settings not valid.
`;
}

function subUsage(sub: Sub): string {
  return `Usage: ${SYNOPSIS[sub]}\n\n${ABOUT[sub]}\n\nOptions:\n${formatOptions(SPECS[sub])}\n`;
}

export const command: CliCommand = {
  name: 'vm',
  summary: 'Create, list, show, edit and delete virtual machines',
  async run(args: string[], io: CliIO): Promise<number> {
    const sub = args[0];
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      (sub === undefined ? io.stderr : io.stdout).write(vmUsage());
      return sub === undefined ? EXIT.usage : EXIT.ok;
    }
    if (!(SUBCOMMANDS as string[]).includes(sub)) {
      return reportError(io, 'perseus vm', new UsageError(`unknown subcommand "${sub}"${didYouMean(sub, SUBCOMMANDS)}`), false);
    }
    const prog = `perseus vm ${sub}`;
    const json = args.includes('--json');
    let library: VmLibrary | undefined;
    try {
      const { options, positionals } = parseArgs(args.slice(1), SPECS[sub as Sub]);
      if (options.help) {
        io.stdout.write(subUsage(sub as Sub));
        return EXIT.ok;
      }
      if (sub === 'presets') return presets(io, positionals, options.json === true);
      library = openLibrary(io, options['data-dir']);
      switch (sub as Exclude<Sub, 'presets'>) {
        case 'list': return list(library, io, positionals, options);
        case 'create': return create(library, io, positionals, options as ParsedOptions<typeof SPECS.create>);
        case 'show': return show(library, io, positionals, options);
        case 'edit': return edit(library, io, positionals, options as ParsedOptions<typeof SPECS.edit>);
        case 'delete': return await remove(library, io, positionals, options as ParsedOptions<typeof SPECS.delete>);
      }
    } catch (e) {
      return reportError(io, prog, e, json);
    } finally {
      library?.close();
    }
  },
};

function expectPositionals(positionals: string[], names: string[]): void {
  if (positionals.length < names.length) throw new UsageError(`missing ${names[positionals.length]}`);
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument "${positionals[names.length]}"${names.length === 1 ? ' (quote names that contain spaces)' : ''}`);
  }
}

function list(library: VmLibrary, io: CliIO, positionals: string[], options: { json?: boolean }): number {
  expectPositionals(positionals, []);
  const vms = library.list();
  if (options.json) {
    io.stdout.write(JSON.stringify(vms, null, 2) + '\n');
    return EXIT.ok;
  }
  if (vms.length === 0) {
    io.stdout.write(`No VMs in ${library.dataDir}. Create one with "perseus vm create NAME --preset dos".\n`);
    return EXIT.ok;
  }
  const rows = [['NAME', 'ID', 'OS', 'MEMORY', 'STATE', 'MODIFIED']];
  for (const vm of vms) {
    rows.push([vm.name, vm.id.slice(0, 8), vm.osPreset, `${vm.memoryMiB} MiB`, vm.state, vm.modifiedAt.slice(0, 19).replace('T', ' ')]);
  }
  io.stdout.write(table(rows));
  return EXIT.ok;
}

function create(library: VmLibrary, io: CliIO, positionals: string[], options: ParsedOptions<typeof SPECS.create>): number {
  expectPositionals(positionals, ['NAME']);
  const settings = settingsFromOptions(options, io.cwd);
  const vm = library.create({ ...settings, name: positionals[0]! });
  if (options.json) io.stdout.write(JSON.stringify(vm, null, 2) + '\n');
  else io.stdout.write(`Created VM "${vm.name}" (${vm.id}).\n${describe(vm, library)}`);
  return EXIT.ok;
}

function show(library: VmLibrary, io: CliIO, positionals: string[], options: { json?: boolean }): number {
  expectPositionals(positionals, ['NAME|ID']);
  const vm = library.lookup(positionals[0]!);
  io.stdout.write(options.json ? JSON.stringify(vm, null, 2) + '\n' : describe(vm, library));
  return EXIT.ok;
}

function edit(library: VmLibrary, io: CliIO, positionals: string[], options: ParsedOptions<typeof SPECS.edit>): number {
  expectPositionals(positionals, ['NAME|ID']);
  const vm = library.lookup(positionals[0]!);
  const patch = settingsFromOptions(options, io.cwd);
  if (options.name !== undefined) patch.name = options.name;
  if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give at least one setting option (see --help)');
  const updated = library.update(vm.id, patch);
  if (options.json) io.stdout.write(JSON.stringify(updated, null, 2) + '\n');
  else io.stdout.write(`Updated VM "${updated.name}".\n${describe(updated, library)}`);
  return EXIT.ok;
}

async function remove(library: VmLibrary, io: CliIO, positionals: string[], options: ParsedOptions<typeof SPECS.delete>): Promise<number> {
  expectPositionals(positionals, ['NAME|ID']);
  if (options['keep-files'] && options['delete-files']) throw new UsageError('give either --keep-files or --delete-files, not both');
  const vm = library.lookup(positionals[0]!);
  let keepFiles: boolean;
  if (options['keep-files']) keepFiles = true;
  else if (options['delete-files']) keepFiles = false;
  else if (!io.interactive) {
    throw new UsageError('say what happens to the VM\'s files: --keep-files or --delete-files (there is no terminal to ask)');
  } else {
    const dir = library.vmDir(vm.id);
    const files = countFiles(dir);
    const answer = await ask(io,
      `Delete VM "${vm.name}"? Its folder ${dir} holds ${files} file${files === 1 ? '' : 's'}.\n` +
      '  d = delete the VM and its folder, k = delete the VM but keep its folder, anything else = cancel: ');
    if (answer === 'd' || answer === 'delete') keepFiles = false;
    else if (answer === 'k' || answer === 'keep') keepFiles = true;
    else {
      io.stderr.write('Cancelled; nothing was deleted.\n');
      return EXIT.failure;
    }
  }
  const { deletedFiles } = library.delete(vm.id, { keepFiles });
  if (options.json) {
    io.stdout.write(JSON.stringify({ id: vm.id, name: vm.name, keptFiles: keepFiles, deletedFiles }, null, 2) + '\n');
  } else {
    io.stdout.write(`Deleted VM "${vm.name}"`);
    io.stdout.write(keepFiles ? `; its folder ${library.vmDir(vm.id)} was kept.\n` : ` and ${deletedFiles.length} file${deletedFiles.length === 1 ? '' : 's'}.\n`);
    for (const f of deletedFiles) io.stdout.write(`  deleted ${f}\n`);
  }
  return EXIT.ok;
}

function presets(io: CliIO, positionals: string[], json: boolean): number {
  expectPositionals(positionals, []);
  const all = listPresets();
  if (json) {
    io.stdout.write(JSON.stringify(all, null, 2) + '\n');
    return EXIT.ok;
  }
  const rows = [['PRESET', 'GUEST', 'MEMORY', 'CPU', 'BOOT', 'NIC', 'DISK SIZE']];
  for (const p of all) {
    const d = p.defaults;
    rows.push([p.preset, p.label, `${d.memoryMiB} MiB`, d.cpuModel, d.bootOrder, d.nic.model, `${p.suggestedDiskMiB} MiB`]);
  }
  io.stdout.write(table(rows));
  return EXIT.ok;
}

const DISK_OPTIONS: Record<'hda' | 'hdb' | 'hdc' | 'hdd', IdeSlot> = {
  hda: 'primaryMaster', hdb: 'primarySlave', hdc: 'secondaryMaster', hdd: 'secondarySlave',
};

/** The settings the options name; image paths are resolved against `cwd`. */
export function settingsFromOptions(o: ParsedOptions<typeof SETTINGS>, cwd: string): Partial<VmSettings> {
  const s: Partial<VmSettings> = {};
  const image = (v: string) => (v === 'none' ? null : resolve(cwd, v));
  if (o.preset !== undefined) s.osPreset = o.preset.trim().toLowerCase() as VmSettings['osPreset'];
  if (o.memory !== undefined) s.memoryMiB = o.memory;
  if (o.cpu !== undefined) s.cpuModel = o.cpu.trim().toLowerCase() as VmSettings['cpuModel'];
  if (o.firmware !== undefined) {
    s.firmware = o.firmware === 'builtin' || o.firmware === 'seabios' ? o.firmware : { path: resolve(cwd, o.firmware) };
  }
  if (o.boot !== undefined) s.bootOrder = o.boot.trim().toLowerCase();
  if (o['boot-menu'] !== undefined) s.bootMenuDelayMs = o['boot-menu'];
  if (o.fda !== undefined) s.floppyA = image(o.fda);
  if (o.fdb !== undefined) s.floppyB = image(o.fdb);
  const ide: Partial<VmSettings['ide']> = {};
  for (const [opt, slot] of Object.entries(DISK_OPTIONS) as [keyof typeof DISK_OPTIONS, IdeSlot][]) {
    const v = o[opt];
    if (v !== undefined) ide[slot] = v === 'none' ? null : { kind: 'disk', path: resolve(cwd, v) };
  }
  if (o.cdrom !== undefined) {
    if (o.hdc !== undefined) throw new UsageError('--cdrom and --hdc both use the IDE secondary master; give only one');
    ide.secondaryMaster = o.cdrom === 'none' ? null : { kind: 'cdrom', path: o.cdrom === 'empty' ? null : resolve(cwd, o.cdrom) };
  }
  if (Object.keys(ide).length > 0) s.ide = ide as VmSettings['ide'];
  const nic: Partial<VmSettings['nic']> = {};
  if (o.nic !== undefined) nic.model = o.nic.trim().toLowerCase() as VmSettings['nic']['model'];
  if (o.net !== undefined) nic.network = o.net.trim().toLowerCase() as VmSettings['nic']['network'];
  if (o.lan !== undefined) {
    if (nic.network !== undefined && nic.network !== 'lan') throw new UsageError(`--lan needs the "lan" network, but --net is "${o.net}"`);
    nic.network = 'lan';
    nic.lanSegment = o.lan;
  }
  if (o.forward !== undefined) {
    if (o.forward.includes('none')) {
      if (o.forward.length > 1) throw new UsageError('--forward none clears the list; give it alone');
      nic.forwards = [];
    } else {
      try { nic.forwards = o.forward.map(parseForwardSpec); } catch (e) { throw new UsageError(`--forward: ${(e as Error).message}`); }
    }
  }
  if (o.capture !== undefined) nic.capture = o.capture === 'none' ? null : resolve(cwd, o.capture);
  if (o.mac !== undefined) nic.mac = o.mac.trim().toLowerCase() === 'auto' ? null : o.mac.trim();
  if (o.cable !== undefined) {
    const c = o.cable.trim().toLowerCase();
    if (c !== 'on' && c !== 'off') throw new UsageError(`--cable takes on or off, not "${o.cable}"`);
    nic.cableConnected = c === 'on';
  }
  if (Object.keys(nic).length > 0) s.nic = nic as VmSettings['nic'];
  if (o.vram !== undefined) s.display = { vramMiB: o.vram } as VmSettings['display'];
  if (o.notes !== undefined) s.notes = o.notes;
  return s;
}

const BOOT_NAMES: Record<string, string> = { a: 'floppy', c: 'hard disk', d: 'CD-ROM' };
const SLOT_NAMES: Record<IdeSlot, string> = {
  primaryMaster: 'IDE primary master', primarySlave: 'IDE primary slave',
  secondaryMaster: 'IDE secondary master', secondarySlave: 'IDE secondary slave',
};

function describe(vm: VmRecord, library: VmLibrary): string {
  const rows: [string, string][] = [
    ['Name', vm.name],
    ['Id', vm.id],
    ['Guest OS', `${vm.osPreset} (${presetInfo(vm.osPreset).label})`],
    ['State', vm.state],
    ['Memory', `${vm.memoryMiB} MiB`],
    ['CPU', vm.cpuModel],
    ['Firmware', typeof vm.firmware === 'string' ? vm.firmware : vm.firmware.path],
    ['Boot order', `${vm.bootOrder} (${[...vm.bootOrder].map((c) => BOOT_NAMES[c] ?? c).join(', ')})`],
    ['Boot menu', vm.bootMenuDelayMs ? `F12 prompt for ${vm.bootMenuDelayMs} ms` : 'no prompt (Esc/F12 during POST)'],
    ['Floppy A', vm.floppyA ?? '-'],
    ['Floppy B', vm.floppyB ?? '-'],
  ];
  for (const slot of IDE_SLOTS) {
    const d = vm.ide[slot];
    rows.push([SLOT_NAMES[slot], d === null ? '-' : d.kind === 'disk' ? `disk ${d.path}` : `CD-ROM ${d.path ?? '(empty)'}`]);
  }
  const net = vm.nic.model === 'none' ? 'none' : `${vm.nic.model} on ${vm.nic.network}${vm.nic.network === 'lan' ? ` segment "${vm.nic.lanSegment ?? ''}"` : ''}`;
  rows.push(
    ['Network', net],
    ...networkDetails(vm),
    ['Display', `${vm.display.adapter}, ${vm.display.vramMiB} MiB`],
    ['Folder', library.vmDir(vm.id)],
    ['Created', vm.createdAt],
    ['Modified', vm.modifiedAt],
  );
  if (vm.notes) rows.push(['Notes', vm.notes.replace(/\n/g, '\n' + ' '.repeat(22))]);
  return rows.map(([k, v]) => `${(k + ':').padEnd(22)}${v}\n`).join('');
}

/** MAC, cable, forwards and capture lines of "vm show" (only for a VM with an adapter). */
function networkDetails(vm: VmRecord): [string, string][] {
  if (vm.nic.model === 'none') return [];
  const rows: [string, string][] = [
    ['MAC address', vm.nic.mac ?? `${formatMac(vmMac(vm.nic, vm.id))} (from the VM id)`],
    ['Cable', vm.nic.cableConnected === false ? 'unplugged' : 'connected'],
  ];
  if (vm.nic.forwards?.length) rows.push(['Port forwards', vm.nic.forwards.map(formatForward).join(', ')]);
  if (vm.nic.capture) rows.push(['Capture', vm.nic.capture]);
  return rows;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell + ' '.repeat(widths[c]! - [...cell].length))).join('  ')).join('\n') + '\n';
}

function countFiles(dir: string): number {
  let n = 0;
  const walk = (p: string) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else n++;
  };
  walk(dir);
  return n;
}

/** Asks on stderr (stdout stays clean for --json) and reads one line. */
async function ask(io: CliIO, question: string): Promise<string> {
  io.stderr.write(question);
  const rl = createInterface({ input: io.stdin, terminal: false });
  try {
    const line = await new Promise<string>((done) => {
      rl.once('line', done);
      rl.once('close', () => done(''));
    });
    return line.trim().toLowerCase();
  } finally {
    rl.close();
  }
}
