// Flags on the cameras page: a badge on each camera a raised flag names, a banner for flags of the whole home.
// The hub sends {type:'flags', flags:[ViewerFlag…]} (src/hub/viewer/flags.ts) on connect and on every change; a
// cleared flag is simply absent from the next list. Everything is text (textContent), never HTML: evidence holds
// banners that hosts on the internet chose.

/** Flag ids already announced to screen readers, so a resent list does not repeat them. */
const announced = new Set();
/** Badges a person opened stay open when the list is drawn again. */
const opened = new Set();

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** One flag: title, where it was seen, the evidence lines, what to do. */
function flagItem(f) {
  const li = el('li', `flag flag-${f.source === 'hub' ? 'outside' : 'inside'}`);
  li.dataset.flagId = f.id;
  li.dataset.kind = f.kind;
  li.append(el('strong', 'flag-title', f.title));
  li.append(
    el('span', 'flag-source', f.source === 'hub' ? ' — found from the internet' : ' — found on your home network'),
  );
  if (Array.isArray(f.evidence) && f.evidence.length > 0) {
    const ev = el('ul', 'flag-evidence');
    for (const line of f.evidence) ev.append(el('li', '', line));
    li.append(ev);
  }
  li.append(el('p', 'flag-advice', f.advice));
  return li;
}

function keyOf(gateway, camera) {
  return `${gateway}/${camera}`;
}

/** Flags grouped by camera key (`GW/CAM`), and the home-wide ones. */
export function splitFlags(flags) {
  const byCamera = new Map();
  const home = [];
  for (const f of flags) {
    if (!f || typeof f.id !== 'string') continue;
    if (typeof f.camera === 'string') {
      const k = keyOf(f.gateway, f.camera);
      if (!byCamera.has(k)) byCamera.set(k, []);
      byCamera.get(k).push(f);
    } else home.push(f);
  }
  return { byCamera, home };
}

/**
 * The badge for one camera (a <details>: the summary says how many problems in words, the body explains each), or
 * undefined when nothing is raised for it.
 */
export function flagBadge(gateway, camera, flags) {
  if (!flags || flags.length === 0) return undefined;
  const d = el('details', 'flag-badge');
  d.dataset.testid = 'flag-badge';
  d.dataset.gateway = gateway;
  d.dataset.camera = camera;
  const k = keyOf(gateway, camera);
  d.open = opened.has(k);
  d.addEventListener('toggle', () => (d.open ? opened.add(k) : opened.delete(k)));
  const n = flags.length;
  const exposed = flags.some((f) => f.kind === 'exposed' || f.kind === 'direct-connection');
  const summary = el('summary', exposed ? 'exposed' : 'at-risk');
  // Words, not only colour: the first problem's title, and how many more.
  summary.textContent = `⚠ ${flags[0].title}${n > 1 ? ` (+${n - 1} more)` : ''}`;
  d.append(summary);
  const list = el('ul', 'flag-list');
  for (const f of flags) list.append(flagItem(f));
  d.append(list);
  return d;
}

/** Fills the home banner (role="alert") with the home-wide flags, or hides it. */
export function renderHomeBanner(container, flags) {
  container.replaceChildren();
  container.hidden = flags.length === 0;
  if (flags.length === 0) return;
  const byGateway = new Map();
  for (const f of flags) {
    if (!byGateway.has(f.gateway)) byGateway.set(f.gateway, []);
    byGateway.get(f.gateway).push(f);
  }
  for (const [gateway, list] of byGateway) {
    const section = el('div', 'home-flags');
    section.dataset.gateway = gateway;
    section.append(el('strong', 'home-flags-title', `⚠ Your home network "${list[0].gatewayName}" needs attention`));
    const ul = el('ul', 'flag-list');
    for (const f of list) ul.append(flagItem(f));
    section.append(ul);
    container.append(section);
  }
}

/** Tells screen readers about flags raised since the last list (camera badges are not live regions themselves). */
export function announceNew(region, flags) {
  const fresh = flags.filter((f) => !announced.has(f.id));
  for (const f of flags) announced.add(f.id);
  const live = new Set(flags.map((f) => f.id));
  for (const id of [...announced]) if (!live.has(id)) announced.delete(id);
  if (fresh.length === 0) return;
  region.textContent = fresh
    .map((f) => (f.cameraName ? `Camera ${f.cameraName}: ${f.title}.` : `Home network: ${f.title}.`))
    .join(' ');
}
