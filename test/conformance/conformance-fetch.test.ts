// The conformance table (conformance-table.ts) for fetch, against the real lab.
import { conformanceTable } from './conformance-table.js';

conformanceTable('fetch');
