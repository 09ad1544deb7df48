// Child of concurrency.test.ts: opens the library (maybe creating it at the same moment as
// its siblings) and creates `count` VMs, printing each committed name.
//   node concurrent-child.mjs <distLibraryIndexUrl> <dataDir> <tag> <count>
const [, , libraryUrl, dataDir, tag, count] = process.argv;
const { VmLibrary } = await import(libraryUrl);
const lib = VmLibrary.open(dataDir);
for (let i = 0; i < Number(count); i++) {
  const vm = lib.create({ name: `${tag}-${i}` });
  lib.update(vm.id, { memoryMiB: 8 + i });
  process.stdout.write(`${vm.name}\n`);
}
lib.close();
