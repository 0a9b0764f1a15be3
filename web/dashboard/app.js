// onebridge dashboard: plain JS, no build step. The admin token lives in this tab's session
// storage and travels only in the Authorization header: the live feeds are read with fetch()
// instead of EventSource, which could carry it only in the URL.
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'onebridge.admin_token';
let token = sessionStorage.getItem(TOKEN_KEY) ?? '';
let feeds = new AbortController();

/** An element with text (never HTML: names and messages come from strangers). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-') || k === 'title') node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  return node;
}

class AuthError extends Error {
  constructor(status) {
    super(status === 401 ? 'This admin server needs its access token.' : 'Wrong token.');
    this.status = status;
  }
}

async function api(path, body) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const init = body === undefined ? { headers } : { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(path, init);
  if (res.status === 401 || res.status === 403) throw new AuthError(res.status);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error ?? `${res.status} ${res.statusText}`);
  return data;
}

/** Server-sent events over fetch(): calls on[event](data) until the signal aborts; reconnects. */
async function follow(path, on, signal, onState = () => {}) {
  let delay = 500;
  while (!signal.aborted) {
    try {
      const res = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal });
      if (res.status === 401 || res.status === 403) throw new AuthError(res.status);
      if (!res.ok || !res.body) throw new Error(`${res.status}`);
      onState('live');
      delay = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data && on[event]) on[event](JSON.parse(data));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof AuthError) return showLogin(err.message);
    }
    onState('down');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

// ---- login ------------------------------------------------------------------------------

function showLogin(message = '') {
  feeds.abort();
  $('app').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('feed-state').className = 'dot down';
  $('feed-state').textContent = 'locked';
  $('token').focus();
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const previous = token;
  token = $('token').value.trim();
  try {
    await api('/status');
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    open();
  } catch (err) {
    token = previous;
    $('login-error').textContent = err.message;
  }
});

$('logout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  token = '';
  showLogin();
});

async function boot() {
  try {
    await api('/status');
    open();
  } catch (err) {
    if (err instanceof AuthError) {
      if (err.status === 403) sessionStorage.removeItem(TOKEN_KEY);
      showLogin(err.status === 403 ? 'The saved token is no longer valid.' : '');
    } else {
      $('feed-state').className = 'dot down';
      $('feed-state').textContent = `unreachable: ${err.message}`;
    }
  }
}

function open() {
  feeds.abort();
  feeds = new AbortController();
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = !token;
  const state = (s) => {
    $('feed-state').className = `dot ${s}`;
    $('feed-state').textContent = s === 'live' ? 'live' : 'reconnecting…';
  };
  follow('/events', { snapshot: renderSnapshot, logs: (lines) => { logLines.length = 0; lines.forEach(addLog); renderLogs(); }, log: (l) => { addLog(l); renderLogs(); } }, feeds.signal, state);
  startChat(feeds.signal);
}

// ---- connections ------------------------------------------------------------------------

const age = (iso) => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
};
const bytes = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
const traffic = (frames, b) => `${frames} · ${bytes(b)}`;
const stateCell = (c) => el('span', { class: `state-${c.state}` }, c.state);
// Actions the entry's `actions:` policy refused on this connection (absent when none).
const refusedCell = (c) => el('span', { class: c.actions_refused ? 'hot' : '' }, c.actions_refused ?? 0);

const GROUPS = [
  { title: 'Clients', match: (c) => ['ws', 'http', 'sse'].includes(c.transport), columns: [
    ['#', (c) => c.id], ['Transport', (c) => `${c.transport}/${c.role}`], ['Remote', (c) => c.remote], ['Account', (c) => c.self_id], ['Age', (c) => age(c.connected_at)],
    ['In', (c) => traffic(c.frames_in, c.bytes_in)], ['Out', (c) => traffic(c.frames_out, c.bytes_out)], ['Dropped', (c) => c.events_dropped ?? 0], ['Refused', refusedCell], ['State', stateCell],
    ['Last pong', (c) => (c.last_pong_ms === undefined ? '—' : `${(c.last_pong_ms / 1000).toFixed(1)}s ago`)], ['Client', (c) => c.user_agent ?? '—'],
  ] },
  { title: 'Reverse WebSocket links', match: (c) => c.transport === 'ws-reverse', columns: [
    ['#', (c) => c.id], ['Role', (c) => c.role], ['URL', (c) => c.endpoint], ['Account', (c) => c.self_id], ['State', stateCell], ['Reconnects', (c) => c.reconnects ?? 0],
    ['Held', (c) => c.events_held ?? 0], ['Dropped', (c) => c.events_dropped ?? 0], ['Refused', refusedCell], ['In', (c) => traffic(c.frames_in, c.bytes_in)], ['Out', (c) => traffic(c.frames_out, c.bytes_out)], ['Age', (c) => age(c.connected_at)],
  ] },
  { title: 'Webhook targets', match: (c) => c.transport === 'http-post', columns: [
    ['#', (c) => c.id], ['URL', (c) => c.endpoint], ['Account', (c) => c.self_id], ['State', stateCell], ['Queue', (c) => c.events_held ?? 0], ['Dropped', (c) => c.events_dropped ?? 0], ['Refused', refusedCell],
    ['Retries', (c) => c.reconnects ?? 0], ['Posted', (c) => traffic(c.frames_out, c.bytes_out)], ['Age', (c) => age(c.connected_at)],
  ] },
  { title: 'Upstream links', match: (c) => c.transport === 'upstream', columns: [
    ['#', (c) => c.id], ['Upstream', (c) => c.endpoint], ['Account', (c) => c.self_id], ['State', stateCell], ['Reconnects', (c) => c.reconnects ?? 0], ['In flight', (c) => c.actions_in_flight ?? 0],
    ['Held', (c) => c.events_held ?? 0], ['In', (c) => traffic(c.frames_in, c.bytes_in)], ['Out', (c) => traffic(c.frames_out, c.bytes_out)], ['Age', (c) => age(c.connected_at)],
  ] },
];
const seen = new Set();

/** Descriptors open of the limit, and client sockets of their budget (`—` where the platform does not say). */
const fdFacts = (fds) => (fds ? ` · fds ${fds.open ?? '—'}/${fds.limit ?? '—'} · client sockets ${fds.client_sockets}/${fds.client_budget ?? '—'}` : '');

function renderSnapshot({ connections, status, fds }) {
  const up = Math.round(status.uptime_ms / 1000);
  $('facts').textContent = `v${status.version} · pid ${status.pid} · up ${age(new Date(Date.now() - up * 1000).toISOString())}${fdFacts(fds)}${Object.keys(status.refused ?? {}).length ? ` · refused ${Object.entries(status.refused).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`;
  // Sends waiting for the account's pacing (`rate_limit`): 0 without pacing or when none wait.
  $('accounts').replaceChildren(...(status.accounts ?? []).map((a) => el('li', { class: a.online ? 'online' : 'offline', title: a.good ? 'good' : 'not good', 'data-self-id': String(a.self_id) }, `${a.self_id} ${a.online ? 'online' : 'offline'}`, el('span', { class: `queue${a.send_queue ? ' hot' : ''}`, title: 'sends waiting for pacing (rate_limit)' }, ` · send queue ${a.send_queue ?? 0}`))));
  $('conn-count').textContent = String(connections.length);
  const sections = [];
  for (const group of GROUPS) {
    const rows = connections.filter(group.match);
    if (rows.length === 0 && group.title !== 'Clients') continue;
    const body = rows.length
      ? rows.map((c) => el('tr', { 'data-id': String(c.id), 'data-transport': c.transport, class: seen.has(c.id) ? '' : 'fresh' }, ...group.columns.map(([label, cell]) => el('td', { 'data-label': label }, cell(c)))))
      : [el('tr', {}, el('td', { class: 'empty', colSpan: group.columns.length }, 'No client connected.'))];
    sections.push(el('h3', {}, group.title), el('div', { class: 'table-wrap' }, el('table', {}, el('thead', {}, el('tr', {}, ...group.columns.map(([label]) => el('th', {}, label)))), el('tbody', {}, ...body))));
  }
  seen.clear();
  for (const c of connections) seen.add(c.id);
  // Redrawn every second: keep where the user scrolled a wide table to.
  const scrolled = [...$('connections').querySelectorAll('.table-wrap')].map((w) => w.scrollLeft);
  $('connections').replaceChildren(...sections);
  $('connections').querySelectorAll('.table-wrap').forEach((w, i) => (w.scrollLeft = scrolled[i] ?? 0));
}

// ---- logs -------------------------------------------------------------------------------

const LEVELS = ['error', 'warn', 'info', 'debug'];
const logLines = [];
function addLog(line) {
  logLines.push(line);
  if (logLines.length > 500) logLines.shift();
}
function renderLogs() {
  const list = $('logs');
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  const max = LEVELS.indexOf($('log-level').value);
  const shown = logLines.filter((l) => { const i = LEVELS.indexOf(l.level); return i === -1 || i <= max; });
  list.replaceChildren(...shown.map((l) => el('li', { class: l.level }, `${new Date(l.time).toLocaleTimeString()} `, el('span', { class: 'lvl' }, l.level), el('span', { class: 'comp' }, `[${l.component}] `), l.message)));
  if (atBottom) list.scrollTop = list.scrollHeight;
}
$('log-level').addEventListener('change', renderLogs);

// ---- sandbox chat -----------------------------------------------------------------------

const FACES = [[14, '🙂'], [13, '😁'], [2, '😍'], [4, '😎'], [5, '😢'], [6, '😊'], [178, '😏'], [76, '👍'], [63, '🌹'], [66, '❤️'], [74, '☀️'], [75, '🌙']];
let world;
const chat = { messages: [], notices: [] };

async function startChat(signal) {
  try {
    world = await api('/sandbox/world');
  } catch {
    $('chat-panel').hidden = true; // not a sandbox app: no chat
    return;
  }
  $('chat-panel').hidden = false;
  const name = (id) => world.users.find((u) => u.user_id === id)?.nickname ?? world.bots.find((b) => b.user_id === id)?.nickname ?? String(id);
  $('chat-target').replaceChildren(...world.groups.map((g) => el('option', { value: `group:${g.group_id}` }, `${g.group_name} (${g.group_id})`)), el('option', { value: 'private' }, 'Private chat with the bot'));
  $('chat-user').replaceChildren(...world.users.map((u) => el('option', { value: String(u.user_id) }, `${u.nickname} (${u.user_id})`)));
  $('chat-bot').replaceChildren(...world.bots.map((b) => el('option', { value: String(b.user_id) }, `${b.nickname} (${b.user_id})`)));
  $('chat-bot-label').hidden = world.bots.length < 2;
  chat.name = name;
  renderPicker();
  renderChat();
  follow('/sandbox/feed', {
    // Sent first on every (re)connect: the chat starts from what the world still remembers.
    history: (list) => { chat.messages = list; renderChat(); },
    message: (m) => { chat.messages.push(m); if (chat.messages.length > 500) chat.messages.shift(); renderChat(); },
    notice: (n) => { onNotice(n); renderChat(); },
  }, signal);
}

const selection = () => {
  const target = $('chat-target').value;
  return { groupId: target.startsWith('group:') ? Number(target.slice(6)) : undefined, userId: Number($('chat-user').value), botId: Number($('chat-bot').value) };
};

function inView(m, s) {
  if (s.groupId !== undefined) return m.group_id === s.groupId;
  if (m.group_id !== undefined) return false;
  return (m.from === s.userId && m.to === s.botId) || (m.from === s.botId && m.to === s.userId);
}

function onNotice(n) {
  const e = n.event ?? {};
  if (e.notice_type === 'group_recall' || e.notice_type === 'friend_recall') {
    const m = chat.messages.find((x) => x.message_id === e.message_id);
    if (m) m.recalled = true;
  }
  chat.messages.push({ notice: n.text, group_id: e.group_id, time: Date.now() / 1000, users: [e.user_id, e.target_id, e.operator_id] });
}

/** base64 images carry no type: tell it from the first bytes (SVG is not sniffed by browsers). */
const SNIFF = { '/9j/': 'image/jpeg', iVBOR: 'image/png', R0lGOD: 'image/gif', UklGR: 'image/webp', PHN2Zy: 'image/svg+xml', PD94bW: 'image/svg+xml' };
function imageSource(data) {
  const src = String(data.url ?? data.file ?? '');
  if (/^https?:\/\//i.test(src) || src.startsWith('data:image/')) return src;
  if (src.startsWith('base64://')) {
    const b64 = src.slice(9);
    const type = Object.entries(SNIFF).find(([prefix]) => b64.startsWith(prefix))?.[1] ?? 'image/png';
    return `data:${type};base64,${b64}`;
  }
  return undefined;
}

function renderSegment(seg) {
  const d = seg.data ?? {};
  switch (seg.type) {
    case 'text': return document.createTextNode(String(d.text ?? ''));
    case 'image': { const src = imageSource(d); return src ? el('img', { src, alt: String(d.file ?? 'image'), loading: 'lazy' }) : el('span', { class: 'seg' }, `[image ${d.file ?? ''}]`); }
    case 'face': { const f = FACES.find(([id]) => String(id) === String(d.id)); return el('span', { class: 'seg', title: `face ${d.id}` }, f ? f[1] : `[face ${d.id}]`); }
    case 'at': return el('span', { class: 'seg' }, d.qq === 'all' ? '@all' : `@${chat.name(Number(d.qq))}`);
    case 'reply': return el('span', { class: 'seg' }, `↩ #${d.id}`);
    default: return el('span', { class: 'seg' }, `[${seg.type}]`);
  }
}

function renderChat() {
  const s = selection();
  const log = $('chat-log');
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  const items = chat.messages.filter((m) => (m.notice ? (s.groupId !== undefined ? m.group_id === s.groupId : m.group_id === undefined) : inView(m, s)));
  log.replaceChildren(...items.map((m) => {
    if (m.notice) return el('li', { class: 'notice' }, m.notice);
    const recall = el('button', { type: 'button', title: 'recall as the chosen user', onclick: () => act('/sandbox/recall', { user_id: selection().userId, message_id: m.message_id }) }, 'recall');
    const item = el('li', { class: `${m.bot ? 'bot' : ''} ${m.from === s.userId ? 'mine' : ''} ${m.recalled ? 'recalled' : ''}`, 'data-message-id': String(m.message_id) },
      el('div', { class: 'who' }, el('span', {}, `${m.name}${m.bot ? ' (bot)' : ''} · ${new Date(m.time * 1000).toLocaleTimeString()}`), m.recalled ? undefined : recall),
      el('div', { class: 'body' }, ...m.message.map(renderSegment)));
    return item;
  }));
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function renderPicker() {
  const s = selection();
  const insert = (code) => { const input = $('chat-input'); input.value += code; input.focus(); };
  const members = s.groupId !== undefined ? world.groups.find((g) => g.group_id === s.groupId).members.map((m) => m.user_id) : [s.botId];
  $('picker-at').replaceChildren(...members.map((id) => el('button', { type: 'button', onclick: () => insert(`[CQ:at,qq=${id}]`) }, chat.name(id))), ...(s.groupId !== undefined ? [el('button', { type: 'button', onclick: () => insert('[CQ:at,qq=all]') }, 'all')] : []));
  $('picker-face').replaceChildren(...FACES.map(([id, glyph]) => el('button', { type: 'button', title: `face ${id}`, onclick: () => insert(`[CQ:face,id=${id}]`) }, glyph)));
}

const cqEscape = (s) => s.replace(/&/g, '&amp;').replace(/\[/g, '&#91;').replace(/\]/g, '&#93;').replace(/,/g, '&#44;');
$('picker-toggle').addEventListener('click', () => { $('picker').hidden = !$('picker').hidden; });
$('picker-image-add').addEventListener('click', () => {
  const url = $('picker-image-url').value.trim();
  if (url) { $('chat-input').value += `[CQ:image,file=${cqEscape(url)}]`; $('picker-image-url').value = ''; }
});
$('picker-image-file').addEventListener('change', () => {
  const file = $('picker-image-file').files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => { $('chat-input').value += `[CQ:image,file=base64://${String(reader.result).split(',')[1]}]`; $('picker-image-file').value = ''; };
  reader.readAsDataURL(file);
});
for (const id of ['chat-target', 'chat-user', 'chat-bot']) $(id).addEventListener('change', () => { renderPicker(); renderChat(); });

async function act(path, body) {
  $('chat-error').textContent = '';
  try {
    return await api(path, body);
  } catch (err) {
    if (err instanceof AuthError) showLogin(err.message);
    else $('chat-error').textContent = err.message;
    return undefined;
  }
}

$('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('chat-input').value;
  if (!text.trim()) return;
  const s = selection();
  const sent = await act('/sandbox/messages', { user_id: s.userId, message: text, ...(s.groupId !== undefined ? { group_id: s.groupId } : { self_id: s.botId }) });
  // Only what was sent is cleared: what was typed while the send was in flight stays.
  if (sent && $('chat-input').value === text) $('chat-input').value = '';
});
$('poke').addEventListener('click', () => { const s = selection(); act('/sandbox/poke', { user_id: s.userId, target_id: s.botId, ...(s.groupId !== undefined ? { group_id: s.groupId } : {}) }); });
$('friend-request').addEventListener('click', () => { const s = selection(); act('/sandbox/requests', { kind: 'friend', user_id: s.userId, self_id: s.botId, comment: 'from the dashboard' }); });
$('join-request').addEventListener('click', () => {
  const s = selection();
  if (s.groupId === undefined) { $('chat-error').textContent = 'Pick a group first.'; return; }
  act('/sandbox/requests', { kind: 'group', user_id: s.userId, group_id: s.groupId, comment: 'from the dashboard' });
});

boot();
