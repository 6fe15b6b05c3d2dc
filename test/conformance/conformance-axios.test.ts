// The conformance table (conformance-table.ts) for axios, against the real lab.
import { conformanceTable } from './conformance-table.js';

conformanceTable('axios');
