// The conformance table (conformance-table.ts) for global install (plain fetch), against the real lab.
import { conformanceTable } from './conformance-table.js';

conformanceTable('global install (plain fetch)');
