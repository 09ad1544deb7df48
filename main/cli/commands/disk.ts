// `perseus disk create|info|convert|check`: disk image tools in the spirit of qemu-img,
// on top of main/disk.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  convertImage,
  createDiskImage,
  IMAGE_FORMATS,
  normalizeFormat,
  openDiskImage,
  parseSize,
  type DiskImage,
  type ImageFormat,
} from '../../disk/index.js';
import { formatOptions, parseArgs, UsageError, type OptionSpecs } from '../args.js';
import { EXIT, reportError, type CliCommand, type CliIO } from '../context.js';

const OPTIONS = {
  format: { type: 'string', short: 'f', value: 'FMT', help: 'Image format (create: required; otherwise detected from the contents)' },
  'output-format': { type: 'string', short: 'O', value: 'FMT', help: 'convert: the output format' },
  backing: { type: 'string', short: 'b', value: 'FILE', help: 'create (qcow2): a backing file; SIZE defaults to its size' },
  'backing-format': { type: 'string', short: 'F', value: 'FMT', help: 'create: the backing file format (default: detected)' },
  fixed: { type: 'boolean', help: 'create/convert (vdi, vhd): allocate the whole disk now' },
  'cluster-size': { type: 'string', value: 'SIZE', help: 'create/convert (qcow2): cluster size, 512 to 2M (default 64K)' },
  json: { type: 'boolean', help: 'info/check: print JSON' },
  force: { type: 'boolean', help: 'create/convert: overwrite an existing file' },
  help: { type: 'boolean', short: 'h', help: 'Show this help' },
} satisfies OptionSpecs;

const USAGE = `Usage:
  perseus disk create -f FMT [-b BACKING [-F FMT]] [--fixed] FILE [SIZE]
  perseus disk info [--json] FILE
  perseus disk convert [-f FMT] -O FMT [--fixed] INPUT OUTPUT
  perseus disk check [--json] FILE

Create, inspect, convert and check disk images. Formats: ${IMAGE_FORMATS.join(', ')} (vpc is
accepted for vhd). SIZE takes K, M, G, T suffixes (powers of 1024), e.g. 20G.
check exits with 1 when it finds errors; leaked clusters are reported but harmless.

Options:
${formatOptions(OPTIONS)}
`;

type Opts = ReturnType<typeof parseArgs<typeof OPTIONS>>['options'];

function formatArg(value: string | undefined, what: string): ImageFormat {
  if (value === undefined) throw new UsageError(`${what} is required`);
  const f = normalizeFormat(value);
  if (!f) throw new UsageError(`unknown format "${value}" (known: ${IMAGE_FORMATS.join(', ')})`);
  return f;
}

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** A progress bar on stderr, only when stderr is a terminal; redrawn at most 10 times a second. */
function progressBar(io: CliIO, label: string): { update(done: number, total: number): void; end(): void } {
  const tty = Boolean((io.stderr as { isTTY?: boolean }).isTTY);
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const fraction = total ? done / total : 1;
      const width = 30;
      const filled = Math.round(fraction * width);
      io.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`);
      shown = true;
    },
    end() {
      if (shown) io.stderr.write('\r\x1b[K');
    },
  };
}

function open(io: CliIO, path: string, opts: Opts): DiskImage {
  const full = resolve(io.cwd, path);
  if (!existsSync(full)) throw new Error(`${path}: no such file`);
  return openDiskImage(full, { readOnly: true, ...(opts.format ? { format: formatArg(opts.format, '-f') } : {}) });
}

function refuseOverwrite(io: CliIO, path: string, opts: Opts): void {
  if (!opts.force && existsSync(resolve(io.cwd, path))) throw new Error(`${path} already exists (use --force to overwrite)`);
}

function clusterSize(opts: Opts): number | undefined {
  return opts['cluster-size'] === undefined ? undefined : parseSize(opts['cluster-size']);
}

function create(io: CliIO, args: string[], opts: Opts): number {
  const format = formatArg(opts.format, '-f FMT');
  if (args.length < 1 || args.length > 2) throw new UsageError('create needs FILE and SIZE');
  const [file, sizeText] = args as [string, string | undefined];
  if (sizeText === undefined && !opts.backing) throw new UsageError('create needs a SIZE (or -b BACKING)');
  refuseOverwrite(io, file, opts);
  const size = sizeText === undefined ? 0 : parseSize(sizeText);
  const cs = clusterSize(opts);
  const made = createDiskImage(resolve(io.cwd, file), format, size, {
    fixed: opts.fixed ?? false,
    ...(opts.backing ? { backingFile: opts.backing } : {}),
    ...(opts['backing-format'] ? { backingFormat: opts['backing-format'] } : {}),
    ...(cs ? { clusterSize: cs } : {}),
  });
  io.stdout.write(`Formatting '${file}', fmt=${format} size=${made}${opts.backing ? ` backing_file=${opts.backing}` : ''}\n`);
  return EXIT.ok;
}

function info(io: CliIO, args: string[], opts: Opts): number {
  if (args.length !== 1) throw new UsageError('info needs one FILE');
  const image = open(io, args[0]!, opts);
  try {
    const i = image.info();
    if (opts.json) {
      io.stdout.write(JSON.stringify({ filename: args[0], ...i }, null, 2) + '\n');
      return EXIT.ok;
    }
    const lines = [
      `image: ${args[0]}`,
      `file format: ${i.format} (${i.variant})`,
      `virtual size: ${human(i.virtualSize)} (${i.virtualSize} bytes)`,
      `disk size: ${human(i.fileSize)}`,
    ];
    if (i.clusterSize) lines.push(`cluster_size: ${i.clusterSize}`);
    if (i.backingFile) lines.push(`backing file: ${i.backingFile}${i.backingFormat ? ` (format ${i.backingFormat})` : ''}`);
    for (const [k, v] of Object.entries(i.details)) lines.push(`${k}: ${v}`);
    io.stdout.write(lines.join('\n') + '\n');
    return EXIT.ok;
  } finally {
    image.close();
  }
}

function convert(io: CliIO, args: string[], opts: Opts): number {
  const format = formatArg(opts['output-format'], '-O FMT');
  if (args.length !== 2) throw new UsageError('convert needs INPUT and OUTPUT');
  const [input, output] = args as [string, string];
  if (resolve(io.cwd, input) === resolve(io.cwd, output)) throw new UsageError('INPUT and OUTPUT are the same file');
  refuseOverwrite(io, output, opts);
  const image = open(io, input, opts);
  const bar = progressBar(io, 'convert');
  try {
    const cs = clusterSize(opts);
    const out = convertImage(image, resolve(io.cwd, output), format, (d, t) => bar.update(d, t), {
      fixed: opts.fixed ?? false,
      ...(cs ? { clusterSize: cs } : {}),
    });
    out.close();
  } finally {
    bar.end();
    image.close();
  }
  return EXIT.ok;
}

function check(io: CliIO, args: string[], opts: Opts): number {
  if (args.length !== 1) throw new UsageError('check needs one FILE');
  const image = open(io, args[0]!, opts);
  try {
    const r = image.check();
    if (opts.json) io.stdout.write(JSON.stringify({ filename: args[0], format: image.format, ...r }, null, 2) + '\n');
    else {
      for (const e of r.errors) io.stdout.write(`ERROR ${e}\n`);
      for (const n of r.notes) io.stdout.write(`note: ${n}\n`);
      if (r.leaks) io.stdout.write(`${r.leaks} leaked cluster(s) or block(s): allocated but unused (harmless, wastes space)\n`);
      io.stdout.write(r.errors.length ? `${r.errors.length} error(s) found in ${args[0]}\n` : `No errors were found on the image.\n`);
    }
    return r.errors.length ? EXIT.failure : EXIT.ok;
  } finally {
    image.close();
  }
}

export const command: CliCommand = {
  name: 'disk',
  summary: 'Create, inspect, convert and check disk images (qcow2, vmdk, vdi, vhd, raw)',
  async run(args: string[], io: CliIO): Promise<number> {
    const json = args.includes('--json');
    const prog = `perseus disk${args[0] && !args[0].startsWith('-') ? ` ${args[0]}` : ''}`;
    try {
      const { options, positionals } = parseArgs(args, OPTIONS);
      if (options.help) {
        io.stdout.write(USAGE);
        return EXIT.ok;
      }
      const [sub, ...rest] = positionals;
      switch (sub) {
        case 'create':
          return create(io, rest, options);
        case 'info':
          return info(io, rest, options);
        case 'convert':
          return convert(io, rest, options);
        case 'check':
          return check(io, rest, options);
        case undefined:
          throw new UsageError('which one: create, info, convert or check?');
        default:
          throw new UsageError(`unknown disk command "${sub}" (create, info, convert, check)`);
      }
    } catch (e) {
      return reportError(io, prog, e, json);
    }
  },
};
