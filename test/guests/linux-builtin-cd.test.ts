import { builtinLinuxSuite } from './linux-builtin.js';

builtinLinuxSuite('cd');
