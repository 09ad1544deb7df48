// Child of crash-safety.test.ts: a small running PC (SeaBIOS, 2 MiB) whose IDE disk is
// snapshot-managed; it writes to the disk, takes, reverts and deletes live snapshots as fast
// as it can, printing one line after each operation has finished, until it is killed.
//   node crash-child.mjs <distRootUrl> <dataDir> <baseImage> <seed>
//   took <id> <diskHash> | reverting <id> | reverted <id> <diskHash> | deleting <id> | deleted <id>
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [, , distUrl, dataDir, baseImage, seedText] = process.argv;
const { VmLibrary } = await import(`${distUrl}/main/library/index.js`);
const { SnapshotStore } = await import(`${distUrl}/main/snapshot/index.js`);
const { PcMachine } = await import(`${distUrl}/core/board/pc.js`);
const { MemoryBlockDevice } = await import(`${distUrl}/core/disk/block.js`);

let seed = Number(seedText) >>> 0 || 1;
const rand = (n) => {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed % n;
};

/** The machine every run builds (same configuration, so every snapshot's state fits it). */
function crashMachine(disk) {
  const floppy = new Uint8Array(1_474_560);
  floppy.set([0xfa, 0xf4, 0xeb, 0xfd], 0); // cli; hlt; jmp $
  floppy[510] = 0x55;
  floppy[511] = 0xaa;
  return new PcMachine({
    memoryMiB: 2, cpuModel: 'pentium2',
    biosRom: new Uint8Array(readFileSync('/usr/share/seabios/bios-256k.bin')),
    vgaRom: new Uint8Array(readFileSync('/usr/share/seabios/vgabios-stdvga.bin')),
    bootOrder: 'a', floppy: [new MemoryBlockDevice(floppy, true), null],
    ide: [{ kind: 'disk', device: disk }, null, null, null],
    nic: { model: 'none', backend: null }, serial: [],
    clock: { wallTimeMs: () => Date.UTC(2024, 0, 1), monotonicMs: () => 0 }, deterministic: true, log: () => {},
  });
}

function diskHash(disk) {
  const buf = new Uint8Array(disk.size);
  disk.read(0, buf);
  return createHash('sha256').update(buf).digest('hex');
}

const lib = VmLibrary.open(dataDir);
const vm = lib.findByName('crash') ?? lib.create({ name: 'crash' });
lib.setPowerState(vm.id, 'running');
const store = new SnapshotStore(lib);
const disks = store.openDisks(vm.id, { primaryMaster: baseImage });
const machine = crashMachine(disks.primaryMaster);
const live = { machine, disks };
const out = (line) => process.stdout.write(`${line}\n`);
out('open');
for (let n = 0; ; n++) {
  const op = rand(10);
  const snaps = store.list(vm.id);
  if (op < 4 || snaps.length === 0) {
    // The "guest" writes: whole random sectors, then runs a little.
    for (let i = 1 + rand(6); i > 0; i--) {
      const data = new Uint8Array(512 * (1 + rand(64))).fill(rand(256));
      disks.primaryMaster.write(rand(disks.primaryMaster.size / 512 - 64) * 512, data);
    }
    machine.run(50_000);
    if (op < 4) continue;
  }
  if (op < 7 || snaps.length === 0) {
    const hash = diskHash(disks.primaryMaster);
    const s = store.take(vm.id, `s${seedText}-${n}`, { live });
    out(`took ${s.id} ${hash}`);
  } else if (op < 9) {
    const s = snaps[rand(snaps.length)];
    out(`reverting ${s.id}`);
    store.revert(vm.id, s.id, { live });
    out(`reverted ${s.id} ${diskHash(disks.primaryMaster)}`);
  } else if (snaps.length > 2) {
    const s = snaps[rand(snaps.length)];
    out(`deleting ${s.id}`);
    store.delete(vm.id, s.id, { live });
    out(`deleted ${s.id}`);
  }
}
