// The conformance table (conformance-table.ts) for got, against the real lab.
import { conformanceTable } from './conformance-table.js';

conformanceTable('got');
