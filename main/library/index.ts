// The VM library: public surface for main/service, main/hypervisor, main/web and the CLI.
export { VmLibrary, LIBRARY_DB_FILE, VM_POWER_STATES, type LibraryChange, type UpdateOptions } from './library.js';
export { resolveDataDir, osUserDataDir, PRODUCT_NAME, type DataDirSources } from './data-dir.js';
export { listPresets, presetDefaults, presetInfo, type PresetInfo } from './presets.js';
export {
  validateSettings, MEMORY_MIN_MIB, MEMORY_MAX_MIB, NAME_MAX_LENGTH, NOTES_MAX_LENGTH, VRAM_MIN_MIB, VRAM_MAX_MIB,
} from './validate.js';
export { migrate, schemaVersion, LATEST_SCHEMA_VERSION } from './schema.js';
export { MIGRATIONS, type Migration } from './migrations/index.js';
export { addRecentImage, listRecentImages, RECENT_IMAGES_KEPT, RECENT_IMAGE_KINDS } from './recent-images.js';
