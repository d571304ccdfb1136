// OpenTE market dashboard: plain JavaScript against the server's JSON API (docs/server.md); the key stays in this tab.
'use strict';
const $ = (id) => document.getElementById(id);
let key = sessionStorage.getItem('opente-key') || '';
let me = null, market = null, stream = null;

async function api(method, path, body) {
  const r = await fetch(path, {
    method, headers: { 'Authorization': 'Bearer ' + key, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error(data && data.detail ? `${data.detail}${data.fix ? ' — ' + data.fix : ''}` : `HTTP ${r.status}`);
  return data;
}

const fmt = (x, d = 2) => (x === null || x === undefined) ? '–' : Number(x).toFixed(d);
const td = (text, cls) => { const c = document.createElement('td'); c.textContent = text; if (cls) c.className = cls; return c; };
const utc = (s) => new Date(s).toISOString().slice(0, 16).replace('T', ' ');

// price colour: green (lowest) → yellow → red (highest) over the prices shown
function colour(p, lo, hi) {
  const f = hi > lo ? (p - lo) / (hi - lo) : 0.5;
  return `hsl(${Math.round(120 * (1 - f))}, 70%, 78%)`;
}

async function login(e) {
  if (e) e.preventDefault();
  if (!key) key = $('key').value.trim();
  try {
    me = await api('GET', '/api/me');
  } catch (err) {
    $('login-msg').textContent = 'Log in failed: ' + err.message;
    $('login-msg').className = 'msg error';
    key = ''; sessionStorage.removeItem('opente-key');
    return;
  }
  sessionStorage.setItem('opente-key', key);
  $('login-view').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = me.role === 'operator' ? 'operator' : `${me.name} (bus ${me.bus})`;
  $('operator-view').hidden = me.role !== 'operator';
  $('participant-view').hidden = me.role === 'operator';
  const markets = await api('GET', '/api/markets');
  const sel = $('market');
  sel.innerHTML = '';
  for (const m of markets) { const o = document.createElement('option'); o.value = m.id; o.textContent = `${m.id}: ${m.name}`; sel.append(o); }
  if (markets.length) await selectMarket(markets[markets.length - 1].id);
}

async function selectMarket(id) {
  $('market').value = id;
  // the buttons act on the selected market: usable only once it has loaded (a click before that had read a null market)
  $('clear-btn').disabled = true;
  $('bid-submit').disabled = true;
  market = await api('GET', `/api/markets/${id}`);
  $('clear-btn').disabled = false;
  $('bid-submit').disabled = false;
  $('market-info').textContent = `case ${market.case}, ${market.intervalMinutes}-min intervals, gate ${market.gateClosureMinutes} min before, next open interval ${market.nextInterval}`;
  if (me.role !== 'operator' && !$('bid-interval').value) $('bid-interval').value = market.nextInterval;
  if (me.role === 'operator' && !$('clear-interval').value) $('clear-interval').value = market.nextInterval;
  listen(id);
  await refresh();
}

// refreshes can overlap (a click and a live event): each reads everything first, then only the latest one draws
let generation = 0;
async function refresh() {
  if (!market) return;
  const mine = ++generation;
  const intervals = await api('GET', `/api/markets/${market.id}/intervals`);
  if (me.role === 'operator') await refreshOperator(intervals, mine); else await refreshParticipant(intervals, mine);
}

async function refreshOperator(intervals, mine) {
  const cleared = intervals.filter(iv => iv.lmpMean !== null);
  const last = cleared.length ? cleared[cleared.length - 1] : null;
  const res = last ? await api('GET', `/api/markets/${market.id}/intervals/${last.interval}/results`) : null;
  if (mine !== generation) return;
  const body = $('intervals').tBodies[0];
  body.innerHTML = '';
  for (const iv of intervals.slice().reverse()) {
    const tr = document.createElement('tr');
    tr.append(td(iv.interval), td(utc(iv.start)), td(utc(iv.gateClosure)), td(iv.status), td(iv.bids, 'num'),
      td(iv.lmpMean === null ? '–' : `${fmt(iv.lmpMin)} / ${fmt(iv.lmpMean)} / ${fmt(iv.lmpMax)}`, 'num'));
    body.append(tr);
  }
  const lmpBody = $('lmp-table').tBodies[0];
  lmpBody.innerHTML = '';
  if (res) {
    $('lmp-interval').textContent = `(interval ${last.interval})`;
    const ps = res.buses.map(b => b.lmp), lo = Math.min(...ps), hi = Math.max(...ps);
    for (const b of res.buses) {
      const tr = document.createElement('tr');
      tr.dataset.bus = b.id;
      const c = td(fmt(b.lmp), 'num lmp');
      c.style.background = colour(b.lmp, lo, hi);
      tr.append(td(b.id), c);
      lmpBody.append(tr);
    }
  }
  chart(cleared);
}

// prices over time: min, mean and max LMP over the buses of each cleared interval
function chart(points) {
  const svg = $('price-chart'), W = 520, H = 260, L = 50, R = 10, T = 12, B = 30;
  svg.innerHTML = '';
  const ns = 'http://www.w3.org/2000/svg';
  const el = (name, attrs, text) => { const e = document.createElementNS(ns, name); for (const k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; svg.append(e); return e; };
  if (!points.length) { el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no cleared interval yet'); return; }
  const xs = points.map(p => p.interval);
  let lo = Math.min(...points.map(p => p.lmpMin)), hi = Math.max(...points.map(p => p.lmpMax));
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const X = (x) => L + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * (W - L - R);
  const Y = (y) => T + (1 - (y - lo) / (hi - lo)) * (H - T - B);
  el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#99a' });
  el('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#99a' });
  for (let k = 0; k <= 4; k++) {
    const v = lo + (hi - lo) * k / 4;
    el('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end' }, fmt(v, 1));
  }
  for (const x of xs) el('text', { x: X(x), y: H - B + 16, 'text-anchor': 'middle' }, x);
  el('text', { x: W - R, y: H - 2, 'text-anchor': 'end' }, 'interval');
  const series = [['lmpMax', '#e63946', 'max'], ['lmpMean', '#1d3557', 'mean'], ['lmpMin', '#2a9d8f', 'min']];
  series.forEach(([k, c, name], i) => {
    el('polyline', { points: points.map(p => `${X(p.interval)},${Y(p[k])}`).join(' '), fill: 'none', stroke: c, 'stroke-width': 2 });
    for (const p of points) el('circle', { cx: X(p.interval), cy: Y(p[k]), r: 3, fill: c });
    el('text', { x: L + 60 * i, y: H - 2, style: 'fill:' + c }, '— ' + name);
  });
}

async function refreshParticipant(intervals, mine) {
  const bids = await api('GET', `/api/markets/${market.id}/my-bids`);
  const awards = new Map();
  const prices = [];
  for (const iv of intervals.filter(iv => iv.status === 'cleared').slice(-20)) {
    const res = await api('GET', `/api/markets/${market.id}/intervals/${iv.interval}/results`);
    for (const a of res.awards) awards.set(a.bidId, a);
    const atBus = res.buses.find(b => b.id === me.bus);
    if (atBus) prices.push([iv.interval, atBus.lmp]);
  }
  const [bal] = await api('GET', '/api/balances');
  if (mine !== generation) return;
  const body = $('my-bids').tBodies[0];
  body.innerHTML = '';
  for (const b of bids) {
    const a = awards.get(b.id);
    const tr = document.createElement('tr');
    tr.dataset.bid = b.id;
    tr.append(td(b.id), td(b.interval), td(b.side), td(fmt(b.price), 'num'), td(fmt(b.quantity, 3), 'num'),
      td(a ? fmt(a.cleared, 3) : '–', 'num cleared'), td(a ? fmt(a.price) : '–', 'num award-price'));
    body.append(tr);
  }
  $('my-price').textContent = prices.length ? `${fmt(prices[prices.length - 1][1])} $/MWh (interval ${prices[prices.length - 1][0]})` : '–';
  const bb = $('balance').tBodies[0];
  bb.innerHTML = '';
  for (const [label, v] of [['Net money', `$${fmt(bal.moneyMinor / 100)}`], ['Energy', `${fmt(bal.energyWh / 1000, 3)} kWh`], ['Deposited (escrow and collateral, settled)', `$${fmt(bal.depositedMinor / 100)}`]]) {
    const tr = document.createElement('tr'); tr.append(td(label), td(v, 'num')); bb.append(tr);
  }
}

async function submitBid(e) {
  e.preventDefault();
  const t = $('bid-interval').value;
  const bid = { side: $('bid-side').value, price: Number($('bid-price').value), quantity: Number($('bid-quantity').value) };
  try {
    const r = await api('POST', `/api/markets/${market.id}/intervals/${t}/bids`, [bid]);
    $('bid-msg').textContent = `Bid ${r.ids.join(', ')} accepted for interval ${t}.`;
    $('bid-msg').className = 'msg';
    await refresh();
  } catch (err) {
    $('bid-msg').textContent = err.message;
    $('bid-msg').className = 'msg error';
  }
}

async function forceClear(e) {
  e.preventDefault();
  const t = $('clear-interval').value;
  try {
    const r = await api('POST', `/api/markets/${market.id}/intervals/${t}/clear`);
    $('clear-msg').textContent = `Interval ${t}: ${r.status}, ${r.awards.length} award(s).`;
    $('clear-msg').className = 'msg';
    await refresh();
  } catch (err) {
    $('clear-msg').textContent = err.message;
    $('clear-msg').className = 'msg error';
  }
}

// live results: server-sent events read with fetch (EventSource cannot send the Authorization header)
async function listen(id) {
  if (stream) stream.abort();
  const ctl = new AbortController();
  stream = ctl;
  try {
    const r = await fetch(`/api/markets/${id}/events`, { headers: { 'Authorization': 'Bearer ' + key }, signal: ctl.signal });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    $('live').textContent = 'live: connected'; $('live').className = 'live on';
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i); buf = buf.slice(i + 2);
        const data = ev.split('\n').find(l => l.startsWith('data:'));
        if (data) {
          const d = JSON.parse(data.slice(5));
          $('live').textContent = `live: interval ${d.interval} cleared (${d.status})`;
          refresh();
        }
      }
    }
  } catch (err) {
    if (ctl.signal.aborted) return;
    $('live').textContent = 'live: disconnected'; $('live').className = 'live';
  }
}

$('login-form').addEventListener('submit', login);
$('bid-form').addEventListener('submit', submitBid);
$('clear-form').addEventListener('submit', forceClear);
$('market').addEventListener('change', (e) => selectMarket(e.target.value));
$('logout').addEventListener('click', () => { sessionStorage.removeItem('opente-key'); location.reload(); });
if (key) login();
