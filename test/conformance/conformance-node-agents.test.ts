// The conformance table (conformance-table.ts) for node:http(s) agents, against the real lab.
import { conformanceTable } from './conformance-table.js';

conformanceTable('node:http(s) agents');
