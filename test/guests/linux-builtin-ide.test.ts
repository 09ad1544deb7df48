import { builtinLinuxSuite } from './linux-builtin.js';

builtinLinuxSuite('ide');
