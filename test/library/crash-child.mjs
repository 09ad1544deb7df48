// Child of crash-safety.test.ts: writes to the library as fast as it can and prints one line
// after each write has committed, until it is killed.
//   node crash-child.mjs <distLibraryIndexUrl> <dataDir> <run>
const [, , libraryUrl, dataDir, run] = process.argv;
const { VmLibrary } = await import(libraryUrl);

const lib = VmLibrary.open(dataDir);
const counter = lib.findByName('counter') ?? lib.create({ name: 'counter', osPreset: 'dos' });
process.stdout.write(`open ${counter.id}\n`);
for (let seq = 1; ; seq++) {
  if (seq % 2 === 1) {
    const vm = lib.create({ name: `r${run}-${seq}`, memoryMiB: 1 + (seq % 512), notes: `run ${run} op ${seq}` });
    process.stdout.write(`created ${vm.name} ${vm.id}\n`);
  } else {
    lib.update(counter.id, { notes: `${run}:${seq}`, memoryMiB: 1 + (seq % 1024) });
    process.stdout.write(`updated ${run}:${seq}\n`);
  }
}
