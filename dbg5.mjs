import WebSocket from 'ws';
import { startLab } from './dist/lab/lab.js';
import { createAgents } from './dist/index.js';
const lab = await startLab({});
for (const [k,v] of Object.entries(lab.env)) process.env[k]=v;
const agents = createAgents({ proxy: lab.proxies.negotiate, kerberos: true, ca: lab.ca, env: {} });
for (const url of [lab.origins.http.url.replace('http:','ws:') + '/ws/echo', lab.origins.https.url.replace('https:','wss:') + '/ws/echo']) {
await new Promise((resolve) => {
  const ws = new WebSocket(url, { agent: url.startsWith('wss') ? agents.https : agents.http });
  const t = setTimeout(() => { console.log('timeout', ws.readyState); resolve(); }, 4000);
  ws.on('open', () => { console.log('open'); ws.send('hi'); });
  ws.on('message', (m) => { console.log('got', String(m)); clearTimeout(t); ws.close(); resolve(); });
  ws.on('error', (e) => { console.log('error', e.message); clearTimeout(t); resolve(); });
  ws.on('unexpected-response', (req, res) => { console.log('unexpected', res.statusCode); clearTimeout(t); resolve(); });
});
}
console.log(lab.origins.http.seen.slice(-2).map(s => [s.method, s.url, s.headers.upgrade]));
agents.http.destroy(); agents.https.destroy(); await lab.stop(); process.exit(0);
