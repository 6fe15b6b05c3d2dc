import { WebSocket } from 'undici';
import { startLab } from './dist/lab/lab.js';
import { ProxyDispatcher } from './dist/index.js';
const lab = await startLab({});
for (const [k,v] of Object.entries(lab.env)) process.env[k]=v;
const url = lab.origins.http.url.replace('http:','ws:') + '/ws/echo';
const d = new ProxyDispatcher({ proxy: lab.proxies.negotiate, kerberos: true, env: {} });
// plain GET through a tunnel first
const r = await d.request({ origin: lab.origins.http.url, path: '/x', method: 'GET', upgrade: undefined });
console.log('forwarded', r.statusCode); await r.body.text();
await new Promise((resolve) => {
  const ws = new WebSocket(url, { dispatcher: d });
  const t = setTimeout(() => { console.log('timeout', ws.readyState); resolve(); }, 4000);
  ws.onopen = () => { console.log('open'); ws.send('hi'); };
  ws.onmessage = (m) => { console.log('got', m.data); clearTimeout(t); ws.close(); resolve(); };
  ws.onerror = (e) => { console.log('error', e.error?.message ?? e.message, e.error?.cause); clearTimeout(t); resolve(); };
});
console.log(lab.origins.http.seen.slice(-2).map(s => [s.method, s.url, s.headers.upgrade]));
await d.close(); await lab.stop(); process.exit(0);
