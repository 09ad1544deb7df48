// `perseus snapshot take|list|revert|delete|rename VM [NAME]`: a VM's snapshot tree from the
// command line (main/snapshot).
//
// The CLI does not run the VM, so it works on a powered-off VM's disks only:
// - take: a disks-only snapshot (no machine state) of a VM that is off or crashed; it freezes
//   the VM's current disk images and starts new qcow2 overlays on them. A VM that is on is
//   refused (its process owns the disks); take live snapshots from the app.
// - revert: the VM (off or crashed) continues from the snapshot's disks. A snapshot holding
//   machine state would also restore the running machine, which the CLI cannot do; it is
//   refused unless --disks-only says to take its disks alone (the guest then boots from disks
//   saved while it was running, like after a power cut).
// - list, rename and delete work whatever the power state; delete never changes another
//   snapshot's data.
import type { VmRecord } from '../../../core/api/contract.js';
import { ApiError } from '../../../core/api/contract.js';
import type { VmLibrary } from '../../library/index.js';
import { SnapshotStore, vmBaseDisks, type SnapshotInfo } from '../../snapshot/index.js';
import { UsageError, didYouMean, formatOptions, parseArgs, type OptionSpecs } from '../args.js';
import { EXIT, openLibrary, reportError, type CliCommand, type CliIO } from '../context.js';

const COMMON = {
  json: { type: 'boolean', help: 'Print the result as JSON (errors as {"error": {code, message, issues}})' },
  'data-dir': { type: 'string', value: 'DIR', help: 'Data directory holding library.db' },
  help: { type: 'boolean', short: 'h', help: 'Show this help' },
} satisfies OptionSpecs;

const SPECS = {
  take: { description: { type: 'string', short: 'd', value: 'TEXT', help: 'A description of the snapshot' }, ...COMMON },
  list: COMMON,
  revert: { 'disks-only': { type: 'boolean', help: 'Revert only the disks of a snapshot that holds machine state' }, ...COMMON },
  delete: COMMON,
  rename: { description: { type: 'string', short: 'd', value: 'TEXT', help: 'Also set the description' }, ...COMMON },
} satisfies Record<string, OptionSpecs>;

type Sub = keyof typeof SPECS;
const SUBCOMMANDS = Object.keys(SPECS) as Sub[];

const SYNOPSIS: Record<Sub, string> = {
  take: 'perseus snapshot take VM NAME [-d TEXT] [--json]',
  list: 'perseus snapshot list VM [--json]',
  revert: 'perseus snapshot revert VM SNAPSHOT [--disks-only] [--json]',
  delete: 'perseus snapshot delete VM SNAPSHOT [--json]',
  rename: 'perseus snapshot rename VM SNAPSHOT NEW-NAME [-d TEXT] [--json]',
};

const ABOUT: Record<Sub, string> = {
  take: 'Snapshot the disks of a powered-off VM (no machine state: the CLI does not run VMs).\nThe VM continues on new copy-on-write overlays; its disk images become read-only.',
  list: 'Show the VM\'s snapshot tree; * marks the current snapshot.',
  revert: 'Make a powered-off VM continue from a snapshot\'s disks; changes since its current\nsnapshot are discarded. A snapshot with machine state needs --disks-only here.',
  delete: 'Delete a snapshot; its children move to its parent. Other snapshots do not change.',
  rename: 'Rename a snapshot (and with -d, change its description).',
};

function usage(): string {
  return `Usage: perseus snapshot <subcommand> VM [SNAPSHOT] [options]

Subcommands:
${SUBCOMMANDS.map((s) => `  ${s.padEnd(8)}${ABOUT[s].split('\n')[0]}`).join('\n')}

VM is a name, an id or an id prefix; SNAPSHOT a name, an id or an id prefix.
Run "perseus snapshot <subcommand> --help" for its options. Exit codes: 0 ok, 1 failure,
2 usage error, 3 VM or snapshot not found.
`;
}

function expectPositionals(positionals: string[], names: string[]): void {
  if (positionals.length < names.length) throw new UsageError(`missing ${names[positionals.length]}`);
  if (positionals.length > names.length) throw new UsageError(`unexpected argument "${positionals[names.length]}" (quote names that contain spaces)`);
}

function requireOff(vm: VmRecord, what: string): void {
  if (vm.state !== 'off' && vm.state !== 'crashed') {
    throw new ApiError('bad-state', `cannot ${what} of "${vm.name}" from the command line while it is ${vm.state}; power it off first`);
  }
}

function printTree(io: CliIO, list: SnapshotInfo[]): void {
  const children = new Map<string | null, SnapshotInfo[]>();
  const ids = new Set(list.map((s) => s.id));
  for (const s of list) {
    const parent = s.parentId && ids.has(s.parentId) ? s.parentId : null;
    const arr = children.get(parent) ?? [];
    arr.push(s);
    children.set(parent, arr);
  }
  const walk = (parent: string | null, depth: number) => {
    for (const s of children.get(parent) ?? []) {
      const kind = s.hasState ? 'running' : 'disks only';
      io.stdout.write(`${s.current ? '*' : ' '} ${'  '.repeat(depth)}${s.name}  (${s.id.slice(0, 8)}, ${s.createdAt}, ${kind})` +
        `${s.description ? ` — ${s.description}` : ''}\n`);
      walk(s.id, depth + 1);
    }
  };
  walk(null, 0);
}

export const command: CliCommand = {
  name: 'snapshot',
  summary: 'Take, list, revert, delete and rename VM snapshots',
  async run(args: string[], io: CliIO): Promise<number> {
    const sub = args[0];
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      (sub === undefined ? io.stderr : io.stdout).write(usage());
      return sub === undefined ? EXIT.usage : EXIT.ok;
    }
    if (!(SUBCOMMANDS as string[]).includes(sub)) {
      return reportError(io, 'perseus snapshot', new UsageError(`unknown subcommand "${sub}"${didYouMean(sub, SUBCOMMANDS)}`), false);
    }
    const prog = `perseus snapshot ${sub}`;
    const json = args.includes('--json');
    let library: VmLibrary | undefined;
    try {
      const { options, positionals } = parseArgs(args.slice(1), SPECS[sub as Sub]);
      if (options.help) {
        io.stdout.write(`Usage: ${SYNOPSIS[sub as Sub]}\n\n${ABOUT[sub as Sub]}\n\nOptions:\n${formatOptions(SPECS[sub as Sub])}\n`);
        return EXIT.ok;
      }
      library = openLibrary(io, options['data-dir']);
      const store = new SnapshotStore(library);
      const out = (value: unknown, text: string) => {
        io.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text);
        return EXIT.ok;
      };
      switch (sub as Sub) {
        case 'take': {
          expectPositionals(positionals, ['VM', 'NAME']);
          const vm = library.lookup(positionals[0]!);
          requireOff(vm, 'take a snapshot');
          const o = options as { description?: string };
          const snap = store.take(vm.id, positionals[1]!, { description: o.description, baseDisks: vmBaseDisks(vm) });
          const n = Object.keys(snap.disks).length;
          return out(snap, `Took disks-only snapshot "${snap.name}" (${snap.id}) of "${vm.name}" (${n} disk${n === 1 ? '' : 's'}).\n`);
        }
        case 'list': {
          expectPositionals(positionals, ['VM']);
          const vm = library.lookup(positionals[0]!);
          const list = store.list(vm.id);
          if (json) return out(list, '');
          if (list.length === 0) return out(null, `"${vm.name}" has no snapshots.\n`);
          printTree(io, list);
          return EXIT.ok;
        }
        case 'revert': {
          expectPositionals(positionals, ['VM', 'SNAPSHOT']);
          const vm = library.lookup(positionals[0]!);
          requireOff(vm, 'revert to a snapshot');
          const snap = store.resolve(vm.id, positionals[1]!);
          if (snap.hasState && !(options as { 'disks-only'?: boolean })['disks-only']) {
            throw new ApiError('bad-state', `snapshot "${snap.name}" holds a running machine's state, which only the app can restore; ` +
              'add --disks-only to revert just its disks (the guest then starts as after a power cut)');
          }
          const { snapshot } = store.revert(vm.id, snap.id);
          return out(snapshot, `"${vm.name}" reverted to "${snapshot.name}" (${snapshot.id}).\n`);
        }
        case 'delete': {
          expectPositionals(positionals, ['VM', 'SNAPSHOT']);
          const vm = library.lookup(positionals[0]!);
          const snap = store.resolve(vm.id, positionals[1]!);
          store.delete(vm.id, snap.id);
          return out({ deleted: snap.id }, `Deleted snapshot "${snap.name}" (${snap.id}).\n`);
        }
        case 'rename': {
          expectPositionals(positionals, ['VM', 'SNAPSHOT', 'NEW-NAME']);
          const vm = library.lookup(positionals[0]!);
          const o = options as { description?: string };
          const snap = store.rename(vm.id, positionals[1]!, positionals[2]!, o.description);
          return out(snap, `Renamed snapshot ${snap.id} to "${snap.name}".\n`);
        }
      }
    } catch (e) {
      return reportError(io, prog, e, json);
    } finally {
      library?.close();
    }
  },
};
