// The Nightshift dashboard: plain JavaScript, no framework, no build step.
// It reads the JSON API (relative URLs, so it works under any path prefix)
// and polls it every few seconds. Every string from the API reaches the page
// through textContent; the only HTML built from data is the report's
// Markdown, which is escaped before any tag is added.
'use strict';

(() => {
  const POLL_MS = 3000;
  const TOKEN_KEY = 'nightshift.token';
  const NAME_KEY = 'nightshift.decider';
  const STATES = [
    'new', 'triaged', 'planned', 'awaiting_spec_approval', 'ready', 'building',
    'in_review', 'changes_requested', 'awaiting_merge_approval', 'merged',
    'closed', 'rejected', 'failed', 'budget_exhausted',
  ];
  const PRIORITY = { high: 3, medium: 2, low: 1 };

  // ---- small DOM helpers ---------------------------------------------------

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // el('td', {class: 'x', dataset: {a: 'b'}}, 'text', node, null)
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = String(v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'href') e.setAttribute('href', safeHref(v));
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    append(e, children);
    return e;
  }

  function append(parent, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  // Links from the API (a pull request's URL) only when they are http(s).
  function safeHref(v) {
    const s = String(v);
    if (s.startsWith('#')) return s;
    try {
      const u = new URL(s, location.href);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : '#';
    } catch (_) {
      return '#';
    }
  }

  function fill(target, ...children) {
    const t = typeof target === 'string' ? $(target) : target;
    t.replaceChildren();
    append(t, children);
  }

  const label = (s) => String(s || '').replace(/_/g, ' ');
  const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');

  function ago(iso) {
    if (!iso) return '–';
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return String(iso);
    const s = Math.round((Date.now() - t) / 1000);
    if (s < 0) return 'in ' + dur(-s);
    if (s < 5) return 'just now';
    return dur(s) + ' ago';
  }

  function dur(s) {
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h';
    return Math.floor(s / 86400) + ' d';
  }

  const time = (iso) => el('time', { datetime: iso, title: iso, text: ago(iso) });
  const badge = (state) => el('span', { class: 'badge s-' + state, text: label(state) });
  const prio = (p) => el('span', { class: 'prio p-' + p, text: p });
  const ticketLink = (id, text) =>
    el('a', { class: 'ticket-link', href: '#ticket/' + encodeURIComponent(id), dataset: { ticket: id } }, text || id);
  const empty = (text) => el('p', { class: 'empty', text });

  function table(headers, rows, cls) {
    if (!rows.length) return null;
    return el('table', { class: cls || '' },
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', { text: h })))),
      el('tbody', {}, rows));
  }

  // ---- the API ---------------------------------------------------------------

  class AuthNeeded extends Error {}

  let token = localStorage.getItem(TOKEN_KEY) || '';

  async function api(path, opts) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    const init = Object.assign({ headers, cache: 'no-store' }, opts || {});
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(path, init);
    if (r.status === 401) {
      showAuth(!!token);
      throw new AuthNeeded('401');
    }
    let body = null;
    try {
      body = await r.json();
    } catch (_) {
      body = null;
    }
    return { status: r.status, ok: r.ok, body };
  }

  async function get(path) {
    const r = await api(path);
    if (!r.ok) throw new Error((r.body && r.body.error) || 'HTTP ' + r.status);
    return r.body;
  }

  function showAuth(refused) {
    $('#auth').hidden = false;
    $('#main').classList.add('locked');
    $('#auth-msg').classList.toggle('error', refused);
    if (refused) $('#auth-msg').textContent = 'The token was refused or has expired. Enter it again.';
  }

  function hideAuth() {
    $('#auth').hidden = true;
    $('#main').classList.remove('locked');
  }

  // ---- views -------------------------------------------------------------------

  let view = 'overview';
  let ticketId = null;

  function route() {
    let h = location.hash.replace(/^#/, '');
    try {
      h = decodeURIComponent(h);
    } catch (_) {
      h = '';
    }
    if (h.startsWith('ticket/')) {
      view = 'ticket';
      ticketId = h.slice('ticket/'.length);
    } else {
      view = ['overview', 'approvals', 'jobs', 'pulls', 'budget', 'report'].includes(h) ? h : 'overview';
      ticketId = null;
    }
    for (const s of $$('.view')) s.hidden = s.dataset.view !== view;
    for (const a of $$('#nav a')) a.classList.toggle('active', a.dataset.view === view);
    lastTicketSig = null;
    refresh();
  }

  // -- overview

  function renderStatus(st) {
    const open = STATES.filter((s) => !['merged', 'closed', 'rejected', 'failed', 'budget_exhausted'].includes(s))
      .reduce((n, s) => n + (st.tickets[s] || 0), 0);
    fill('#tiles',
      tile('Open tickets', fmt(open), 'tile-open'),
      tile('Awaiting a person', fmt(st.pending_approvals), 'tile-approvals', '#approvals'),
      tile('Jobs running', fmt(st.active_jobs) + ' / ' + fmt(st.max_concurrent_jobs), 'tile-jobs', '#jobs'),
      tile('Tokens spent', fmt(st.tokens_committed), 'tile-tokens', '#budget'),
      tile('Merged', fmt(st.tickets.merged || 0), 'tile-merged'));
    fill('#state-counts', STATES.map((s) =>
      el('div', { class: 'state' + ((st.tickets[s] || 0) ? '' : ' zero'), dataset: { stateCount: s } },
        el('span', { class: 'n', text: fmt(st.tickets[s] || 0) }), badge(s))));
    fill('#waiting', (st.waiting || []).map((w) => el('li', { text: w })));
    setPill('#nav-approvals', st.pending_approvals);
    setPill('#nav-jobs', st.active_jobs);
  }

  function tile(name, value, cls, href) {
    return el(href ? 'a' : 'div', { class: 'tile ' + cls, href },
      el('div', { class: 'v', text: value }), el('div', { class: 'k', text: name }));
  }

  function setPill(sel, n) {
    const p = $(sel);
    p.textContent = n ? String(n) : '';
    p.hidden = !n;
  }

  function byPriorityThenAge(a, b) {
    return (PRIORITY[b.priority] || 0) - (PRIORITY[a.priority] || 0) ||
      Date.parse(a.created_at) - Date.parse(b.created_at);
  }

  function ticketRows(tickets) {
    return tickets.map((t) => el('tr', { dataset: { row: t.id } },
      el('td', {}, ticketLink(t.id)),
      el('td', { class: 'title', text: t.title }),
      el('td', {}, badge(t.state)),
      el('td', {}, prio(t.priority)),
      el('td', { class: 'muted', text: t.context && t.context.repo }),
      el('td', {}, time(t.created_at))));
  }

  async function loadOverview() {
    const [ready, recent, jobs, approvals] = await Promise.all([
      get('tickets?state=ready&limit=200'),
      get('tickets?limit=25'),
      get('jobs?state=active&limit=50'),
      get('approvals'),
    ]);
    const titles = new Map(recent.tickets.map((t) => [t.id, t.title]));
    fill('#overview-approvals', approvals.approvals.length
      ? el('ul', { class: 'joblist' }, approvals.approvals.slice(0, 8).map((a) => el('li', {},
        el('span', { class: 'badge s-awaiting_' + a.kind + '_approval', text: a.kind }), ' ',
        ticketLink(a.ticket_id, titles.get(a.ticket_id) || a.ticket_id), ' ',
        el('span', { class: 'muted' }, 'asked ', time(a.requested_at)), ' ',
        el('a', { href: '#approvals', class: 'small-link', text: 'decide →' }))))
      : empty('Nothing waits for a person.'));
    const queue = ready.tickets.slice().sort(byPriorityThenAge);
    fill('#ready-queue', table(['ticket', 'title', 'state', 'priority', 'repo', 'created'], ticketRows(queue), 'queue')
      || empty('Nothing is ready to build.'));
    fill('#recent-tickets', table(['ticket', 'title', 'state', 'priority', 'repo', 'created'], ticketRows(recent.tickets))
      || empty('No tickets yet. Submit one with POST /tickets or `nightshift ticket add`.'));
    fill('#overview-jobs', jobs.jobs.length
      ? el('ul', { class: 'joblist' }, jobs.jobs.map((j) => el('li', {},
        badge(j.state), ' ', j.ticket_id ? ticketLink(j.ticket_id, j.ticket_title || j.ticket_id) : label(j.kind), ' ',
        el('a', { href: '#jobs', class: 'job-link', dataset: { job: j.id }, onclick: () => selectJob(j.id) }, el('code', { text: j.id })),
        el('div', { class: 'muted progress-line', text: label(j.kind) + ' · ' + progressText(j) + ' · attempt ' + j.attempt + '/' + j.max_attempts }))))
      : empty('No job is running.'));
  }

  // -- jobs

  let selectedJob = null;
  let stream = 'stderr';

  function progressText(j) {
    const p = j.progress || {};
    const calls = p.tool_calls + (p.tool_calls === 1 ? ' tool call' : ' tool calls');
    return p.last_tool ? calls + ' · last: ' + p.last_tool : calls;
  }

  function jobRows(jobs) {
    return jobs.map((j) => el('tr', { dataset: { job: j.id }, class: j.id === selectedJob ? 'selected' : '' },
      el('td', {}, el('code', { text: j.id })),
      el('td', {}, j.ticket_id ? ticketLink(j.ticket_id, j.ticket_title || j.ticket_id) : '–'),
      el('td', { text: label(j.kind) }),
      el('td', {}, badge(j.state)),
      el('td', { class: 'progress' },
        el('span', { class: 'calls', text: progressText(j) }),
        el('span', { class: 'bar' + (j.state === 'running' ? ' busy' : '') })),
      el('td', { text: j.attempt + ' / ' + j.max_attempts }),
      el('td', { class: 'num', text: fmt(j.tokens_used) }),
      el('td', {}, time((j.progress && j.progress.last_event_at) || j.updated_at)),
      el('td', {}, el('button', { type: 'button', class: 'small show-log', onclick: () => selectJob(j.id) }, 'Log'))));
  }

  const JOB_HEAD = ['job', 'ticket', 'kind', 'state', 'progress', 'attempt', 'tokens', 'last activity', ''];

  async function loadJobs() {
    const [active, recent] = await Promise.all([get('jobs?state=active&limit=100'), get('jobs?limit=30')]);
    fill('#active-jobs', table(JOB_HEAD, jobRows(active.jobs), 'jobs') || empty('No job is running or queued.'));
    fill('#recent-jobs', table(JOB_HEAD, jobRows(recent.jobs), 'jobs') || empty('No jobs yet.'));
    if (!selectedJob && active.jobs.length) selectedJob = active.jobs[0].id;
    await loadLog();
  }

  function selectJob(id) {
    selectedJob = id;
    for (const tr of $$('tr[data-job]')) tr.classList.toggle('selected', tr.dataset.job === id);
    loadLog().catch(fail);
  }

  async function loadLog() {
    if (!selectedJob) {
      $('#log-card').hidden = true;
      return;
    }
    const r = await api('jobs/' + encodeURIComponent(selectedJob) + '/log?tail=300');
    $('#log-card').hidden = false;
    $('#log-job').textContent = selectedJob;
    const pre = $('#log-text');
    if (!r.ok) {
      $('#log-meta').textContent = '';
      pre.textContent = (r.body && r.body.error) || 'HTTP ' + r.status;
      return;
    }
    const tail = r.body[stream];
    $('#log-meta').textContent = 'attempt ' + r.body.attempt + (tail.truncated ? ' · the last lines' : '');
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    const text = tail.found ? (tail.text || '(empty)') : '(no ' + stream + ' log here: in AWS the logs are in CloudWatch)';
    if (pre.textContent !== text) {
      pre.textContent = text;
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }
  }

  // -- approvals

  let lastApprovalsSig = null;

  async function loadApprovals() {
    const list = (await get('approvals')).approvals;
    const details = await Promise.all(list.map((a) =>
      get('tickets/' + encodeURIComponent(a.ticket_id)).catch(() => null)));
    // Rebuild only when something changed, so a reason being typed survives the poll.
    const sig = JSON.stringify(list.map((a, i) => [a.id, a.status, details[i] && details[i].ticket.version]));
    if (sig === lastApprovalsSig) return;
    if ($$('#approvals-list .reason-form:not([hidden]) textarea').some((t) => t.value)) {
      // Someone is writing a reason: keep their card until they send or cancel.
      const ids = new Set(list.map((a) => a.id));
      for (const card of $$('#approvals-list [data-approval]')) {
        if (!ids.has(card.dataset.approval)) card.classList.add('gone');
      }
      return;
    }
    lastApprovalsSig = sig;
    fill('#approvals-list', list.length
      ? list.map((a, i) => approvalCard(a, details[i]))
      : el('div', { class: 'card' }, empty('Nothing waits for a person.')));
  }

  function approvalCard(a, d) {
    const t = d && d.ticket;
    const card = el('article', { class: 'card approval k-' + a.kind, dataset: { approval: a.id, ticket: a.ticket_id } });
    append(card, [
      el('header', { class: 'approval-head' },
        el('span', { class: 'kind', text: a.kind === 'spec' ? 'Spec approval' : 'Merge approval' }),
        el('h3', {}, t ? t.title : a.ticket_id),
        el('div', { class: 'muted' }, ticketLink(a.ticket_id), ' · ', t ? label(t.type) + ' in ' + t.context.repo : '',
          ' · asked by ', a.requested_by, ' ', time(a.requested_at))),
    ]);
    if (a.kind === 'spec') append(card, [specBlock(t && t.spec)]);
    else append(card, [verdictBlock(t && t.review)]);
    const msg = el('p', { class: 'msg', role: 'alert' });
    const reason = el('textarea', {
      class: 'reason', rows: 3, placeholder: 'Why? The planner or the builder reads this.', 'aria-label': 'Reason',
      oninput: () => { if (msg.classList.contains('error')) { msg.textContent = ''; msg.className = 'msg'; } },
    });
    const form = el('div', { class: 'reason-form', hidden: true },
      reason,
      el('div', { class: 'row' },
        el('button', { type: 'button', class: 'danger send-reject', onclick: () => decide(a, 'reject', reason.value, card, msg) }, 'Send rejection'),
        el('button', { type: 'button', class: 'ghost cancel', onclick: () => { form.hidden = true; reason.value = ''; msg.textContent = ''; } }, 'Cancel')));
    append(card, [
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'primary approve', onclick: () => decide(a, 'approve', null, card, msg) }, 'Approve'),
        el('button', { type: 'button', class: 'danger-outline reject', onclick: () => { form.hidden = false; reason.focus(); } }, 'Reject…')),
      form, msg,
    ]);
    return card;
  }

  function specBlock(spec) {
    if (!spec) return empty('The ticket has no spec.');
    return el('div', { class: 'spec' },
      el('div', { class: 'confidence' },
        el('span', { class: 'k', text: 'confidence' }),
        meter(spec.confidence, 10),
        el('strong', { class: 'conf-value', text: spec.confidence + '/10' }),
        el('span', { class: 'muted', text: 'by ' + spec.by + ', round ' + spec.round })),
      el('h4', { text: 'Approach' }),
      el('p', { class: 'approach', text: spec.approach }),
      spec.files.length ? [el('h4', { text: 'Files' }), el('ul', { class: 'files' }, spec.files.map((f) => el('li', {}, el('code', { text: f }))))] : null,
      spec.acceptance_criteria.length ? [el('h4', { text: 'Acceptance criteria' }), el('ul', {}, spec.acceptance_criteria.map((c) => el('li', { text: c })))] : null,
      spec.risks.length ? [el('h4', { text: 'Risks' }), el('ul', {}, spec.risks.map((r) => el('li', { text: r })))] : null);
  }

  function verdictBlock(v) {
    if (!v) return empty('No review verdict yet.');
    return el('div', { class: 'verdict' },
      el('div', { class: 'confidence' },
        el('span', { class: 'k', text: 'review score' }),
        v.score === null || v.score === undefined ? el('span', { class: 'muted', text: 'no score (no LLM: a person decides)' })
          : [meter(v.score, 10), el('strong', { class: 'score-value', text: v.score + '/10' })],
        el('span', { class: 'muted', text: 'PR #' + v.pr + ', round ' + v.round + (typeof v.coverage === 'number' ? ', coverage ' + v.coverage.toFixed(1) + '%' : '') })),
      v.summary ? el('p', { class: 'approach', text: v.summary }) : null,
      el('h4', { text: 'Gates' }),
      el('ul', { class: 'gates' }, v.gates.map((g) => el('li', {},
        el('span', { class: 'gate g-' + g.outcome, text: g.outcome === 'unverified' ? 'could not verify' : g.outcome }),
        ' ', el('strong', { text: g.gate }), ' ', g.summary,
        g.findings.length ? el('ul', { class: 'findings' }, g.findings.map((f) => el('li', {}, el('code', { text: f })))) : null))),
      v.comments.length ? [el('h4', { text: 'Comments' }), el('ul', {}, v.comments.map((c) => el('li', {},
        c.blocking ? el('span', { class: 'gate g-fail', text: 'blocking' }) : null, ' ',
        el('code', { text: c.file + (c.line ? ':' + c.line : '') }), ' ', c.body)))] : null);
  }

  function meter(v, max) {
    const m = el('span', { class: 'meter' });
    const f = el('span', { class: 'fill' + (v / max >= 0.7 ? ' hi' : v / max >= 0.4 ? ' mid' : ' lo') });
    f.style.width = Math.max(0, Math.min(100, (v / max) * 100)) + '%';
    m.appendChild(f);
    return m;
  }

  async function decide(a, what, reason, card, msg) {
    msg.className = 'msg';
    if (what === 'reject' && !(reason || '').trim()) {
      msg.classList.add('error');
      msg.textContent = 'A reason is required to reject: say what the planner or the builder should change.';
      return;
    }
    const body = {};
    const by = ($('#decider').value || '').trim();
    if (by) body.by = by;
    if (reason) body.reason = reason.trim();
    for (const b of $$('button', card)) b.disabled = true;
    try {
      const r = await api('approvals/' + encodeURIComponent(a.id) + '/' + what, { method: 'POST', body: JSON.stringify(body) });
      if (r.ok) {
        card.classList.add('decided');
        msg.classList.add('ok');
        msg.textContent = (what === 'approve' ? 'Approved' : 'Rejected') + ': the ticket is now ' + label(r.body.ticket.state) + '.';
        card.dataset.decided = what;
        // Decided: the card may leave the list at the next poll.
        for (const f of $$('.reason-form', card)) f.hidden = true;
        for (const t of $$('textarea', card)) t.value = '';
        lastApprovalsSig = null;
        setTimeout(() => refresh(), 1200);
      } else {
        msg.classList.add('error');
        msg.textContent = (r.body && r.body.error) || 'HTTP ' + r.status;
        for (const b of $$('button', card)) b.disabled = false;
      }
    } catch (e) {
      if (!(e instanceof AuthNeeded)) {
        msg.classList.add('error');
        msg.textContent = String(e.message || e);
      }
      for (const b of $$('button', card)) b.disabled = false;
    }
  }

  // -- pull requests

  async function loadPulls() {
    const r = await api('pulls');
    if (!r.ok) {
      fill('#pulls', empty((r.body && r.body.error) || 'HTTP ' + r.status));
      return;
    }
    fill('#pulls', table(['pull request', 'title', 'state', 'ticket', 'branch', 'opened', 'updated'],
      r.body.pulls.map((p) => el('tr', { dataset: { pr: p.repo + '#' + p.number } },
        el('td', {}, p.url ? el('a', { href: p.url, target: '_blank', rel: 'noopener noreferrer', text: p.repo + '#' + p.number })
          : el('span', { text: p.repo + '#' + p.number })),
        el('td', { class: 'title', text: p.title }),
        el('td', {}, el('span', { class: 'badge pr-' + p.state, text: p.state })),
        el('td', {}, p.ticket_id ? ticketLink(p.ticket_id) : '–'),
        el('td', {}, el('code', { text: p.head }), ' → ', el('code', { text: p.base })),
        el('td', {}, time(p.created_at)),
        el('td', {}, time(p.updated_at))))) || empty('No pull requests yet.'));
  }

  // -- budget

  async function loadBudget() {
    const b = await get('budget');
    const limit = b.tickets.reduce((n, t) => n + t.limit, 0);
    fill('#budget-tiles',
      tile('Tokens spent in total', fmt(b.total_committed), 'tile-tokens'),
      tile('Held by calls in flight', fmt(b.total_reserved), 'tile-reserved'),
      tile('Limits of the listed tickets', fmt(limit), 'tile-limit'));
    fill('#budget-table', table(['ticket', 'title', 'state', 'spent', 'held', 'limit', ''],
      b.tickets.map((t) => {
        const bar = el('span', { class: 'budgetbar' });
        const c = el('span', { class: 'committed' });
        const r = el('span', { class: 'reserved' });
        c.style.width = (t.limit ? (t.committed / t.limit) * 100 : 0) + '%';
        r.style.width = (t.limit ? (t.reserved / t.limit) * 100 : 0) + '%';
        append(bar, [c, r]);
        return el('tr', { dataset: { budget: t.ticket_id } },
          el('td', {}, ticketLink(t.ticket_id)),
          el('td', { class: 'title', text: t.title }),
          el('td', {}, badge(t.state)),
          el('td', { class: 'num spent', text: fmt(t.committed) }),
          el('td', { class: 'num', text: fmt(t.reserved) }),
          el('td', { class: 'num', text: fmt(t.limit) }),
          el('td', { class: 'barcell' }, bar));
      }), 'budget') || empty('No ticket has a budget account yet.'));
  }

  // -- the nightly report

  async function loadReport() {
    const r = await api('report');
    if (r.status === 404) {
      fill('#report', el('div', { class: 'empty big' }, el('h2', { text: 'No report yet' }),
        el('p', { text: 'The nightly report appears here after its first run.' })));
      return;
    }
    if (!r.ok || !r.body || typeof r.body.markdown !== 'string') {
      fill('#report', empty((r.body && r.body.error) || 'The report could not be read (HTTP ' + r.status + ').'));
      return;
    }
    $('#report').innerHTML = markdown(r.body.markdown); // escaped before any tag is added
  }

  // A small Markdown subset: headings, lists, pipe tables, fenced code,
  // paragraphs, rules, **bold**, *emphasis* and `code`. The text is escaped
  // first; only fixed tags without attributes are added after.
  function escapeHtml(s) {
    return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  }

  function inline(s) {
    return s.split(/(`[^`]+`)/).map((part) => {
      if (part.length > 1 && part.startsWith('`') && part.endsWith('`')) return '<code>' + part.slice(1, -1) + '</code>';
      return part
        .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
        .replace(/__([^_]+)__/g, '<strong>$1</strong>')
        .replace(/(^|[^*\w])\*([^*\s][^*]*?)\*(?!\w)/g, '$1<em>$2</em>');
    }).join('');
  }

  function markdown(md) {
    const lines = escapeHtml(String(md)).replace(/\r\n?/g, '\n').split('\n');
    const out = [];
    let para = [];
    const flush = () => {
      if (para.length) out.push('<p>' + inline(para.join(' ')) + '</p>');
      para = [];
    };
    const cells = (line) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
    const isSep = (line) => /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(line);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      let m;
      if (/^\s*```/.test(line)) {
        flush();
        const code = [];
        for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) code.push(lines[i]);
        out.push('<pre><code>' + code.join('\n') + '</code></pre>');
      } else if ((m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
        flush();
        const n = m[1].length;
        out.push('<h' + n + '>' + inline(m[2]) + '</h' + n + '>');
      } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
        flush();
        out.push('<hr>');
      } else if (line.trim().startsWith('|') && i + 1 < lines.length && isSep(lines[i + 1])) {
        flush();
        const head = cells(line);
        const rows = [];
        for (i += 2; i < lines.length && lines[i].trim().startsWith('|'); i++) rows.push(cells(lines[i]));
        i--;
        out.push('<table><thead><tr>' + head.map((c) => '<th>' + inline(c) + '</th>').join('') + '</tr></thead><tbody>' +
          rows.map((r) => '<tr>' + r.map((c) => '<td>' + inline(c) + '</td>').join('') + '</tr>').join('') + '</tbody></table>');
      } else if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
        flush();
        const ordered = /^\s*\d/.test(line);
        const items = [];
        for (; i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i]); i++) {
          let item = lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, '');
          // Continuation lines, indented.
          while (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1]) && !/^\s*([-*+]|\d+[.)])\s+/.test(lines[i + 1])) {
            item += ' ' + lines[++i].trim();
          }
          items.push('<li>' + inline(item) + '</li>');
        }
        i--;
        out.push((ordered ? '<ol>' : '<ul>') + items.join('') + (ordered ? '</ol>' : '</ul>'));
      } else if (!line.trim()) {
        flush();
      } else {
        para.push(line.trim());
      }
    }
    flush();
    return out.join('\n');
  }

  // -- one ticket and its audit trail

  let lastTicketSig = null;

  async function loadTicket() {
    const r = await api('tickets/' + encodeURIComponent(ticketId));
    if (r.status === 404) {
      fill('#ticket', el('div', { class: 'card' }, empty('No ticket ' + ticketId + '.')));
      return;
    }
    if (!r.ok) throw new Error((r.body && r.body.error) || 'HTTP ' + r.status);
    const d = r.body;
    const sig = JSON.stringify([d.ticket.id, d.ticket.version, d.events.length, d.jobs.map((j) => [j.state, j.updated_at]), d.budget]);
    if (sig === lastTicketSig) return;
    lastTicketSig = sig;
    const t = d.ticket;
    fill('#ticket',
      el('div', { class: 'card ticket-head' },
        el('div', { class: 'muted' }, el('a', { href: '#overview', text: '← overview' }), ' · ', el('code', { text: t.id })),
        el('h2', { class: 'ticket-title' }, t.title),
        el('div', { class: 'facts' },
          badge(t.state), prio(t.priority),
          el('span', { text: label(t.type) }),
          el('span', { text: t.context.repo }),
          el('span', { text: 'from ' + t.source + (t.source_ref ? ' ' + t.source_ref : '') }),
          el('span', {}, 'created ', time(t.created_at)),
          el('span', { text: 'build rounds ' + t.build_rounds })),
        t.state_reason ? el('p', { class: 'reason-line', text: t.state_reason }) : null,
        t.description ? el('p', { class: 'approach', text: t.description }) : null,
        t.acceptance_criteria.length ? [el('h4', { text: 'Acceptance criteria' }), el('ul', {}, t.acceptance_criteria.map((c) => el('li', { text: c })))] : null),
      el('div', { class: 'grid2' },
        el('div', { class: 'card' }, el('h3', { text: 'Spec' }), specBlock(t.spec)),
        el('div', { class: 'card' }, el('h3', { text: 'Review' }), verdictBlock(t.review))),
      el('div', { class: 'grid2' },
        el('div', { class: 'card' }, el('h3', { text: 'Approvals' }),
          table(['kind', 'status', 'asked', 'decided by', 'reason'], d.approvals.map((a) => el('tr', {},
            el('td', { text: a.kind }), el('td', {}, el('span', { class: 'badge a-' + a.status, text: a.status })),
            el('td', {}, time(a.requested_at)), el('td', { text: a.decided_by || '–' }),
            el('td', { class: 'reason-cell', text: a.reason || '' })))) || empty('None.')),
        el('div', { class: 'card' }, el('h3', { text: 'Jobs and budget' }),
          table(['job', 'state', 'attempt', 'tokens'], d.jobs.map((j) => el('tr', {},
            el('td', {}, el('a', { href: '#jobs', onclick: () => { selectedJob = j.id; } }, el('code', { text: j.id }))),
            el('td', {}, badge(j.state)), el('td', { text: j.attempt + ' / ' + j.max_attempts }),
            el('td', { class: 'num', text: fmt(j.tokens_used) })))) || empty('No jobs.'),
          d.budget ? el('p', { class: 'budgetline' }, 'Spent ', el('strong', { text: fmt(d.budget.committed) }),
            ' of ', fmt(d.budget.limit), ' tokens', d.budget.reserved ? ', ' + fmt(d.budget.reserved) + ' held' : '') : null)),
      el('div', { class: 'card' },
        el('h3', {}, 'Audit trail ', el('small', { text: d.events.length + ' events, oldest first, hash-chained' })),
        el('div', { id: 'audit' }, table(['#', 'when', 'actor', 'action', 'transition', 'detail'], d.events.map((e) => el('tr', { dataset: { seq: e.seq } },
          el('td', { class: 'num', text: e.seq }),
          el('td', {}, time(e.at)),
          el('td', { text: e.actor }),
          el('td', {}, el('strong', { text: e.action })),
          el('td', {}, e.from_state || e.to_state ? [e.from_state ? badge(e.from_state) : '', ' → ', e.to_state ? badge(e.to_state) : ''] : ''),
          el('td', { class: 'detail' }, detailText(e.detail)))), 'audit') || empty('No events.'))));
  }

  function detailText(d) {
    if (d === null || d === undefined) return '';
    let s = typeof d === 'string' ? d : JSON.stringify(d);
    const full = s;
    if (s.length > 240) s = s.slice(0, 240) + '…';
    return el('code', { title: full.length > 240 ? full.slice(0, 4000) : null, text: s });
  }

  // ---- the poll ------------------------------------------------------------------

  const LOADERS = {
    overview: loadOverview, approvals: loadApprovals, jobs: loadJobs, pulls: loadPulls,
    budget: loadBudget, report: loadReport, ticket: loadTicket,
  };

  let running = false;
  let again = false;
  let timer = null;

  async function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    clearTimeout(timer);
    try {
      const st = await get('status');
      renderStatus(st);
      await LOADERS[view]();
      hideAuth();
      for (const t of $$('time[datetime]')) t.textContent = ago(t.getAttribute('datetime'));
      live(true, 'live · updated ' + new Date().toLocaleTimeString('en-GB'));
    } catch (e) {
      if (e instanceof AuthNeeded) live(false, 'needs the API token');
      else fail(e);
    } finally {
      running = false;
      timer = setTimeout(refresh, POLL_MS);
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  function fail(e) {
    if (e instanceof AuthNeeded) return;
    live(false, 'error: ' + String((e && e.message) || e));
  }

  function live(ok, text) {
    $('#live').classList.toggle('down', !ok);
    $('#live-text').textContent = text;
  }

  // For tests and the curious: the Markdown renderer, nothing else.
  window.nightshiftDashboard = Object.freeze({ markdown });

  // ---- start -----------------------------------------------------------------------

  document.addEventListener('DOMContentLoaded', () => {
    $('#auth-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      token = $('#token').value.trim();
      if (token) localStorage.setItem(TOKEN_KEY, token);
      else localStorage.removeItem(TOKEN_KEY);
      $('#token').value = '';
      refresh();
    });
    const decider = $('#decider');
    decider.value = localStorage.getItem(NAME_KEY) || '';
    decider.addEventListener('change', () => localStorage.setItem(NAME_KEY, decider.value.trim()));
    for (const b of $$('.log-tabs .tab')) {
      b.addEventListener('click', () => {
        stream = b.dataset.stream;
        for (const o of $$('.log-tabs .tab')) o.classList.toggle('active', o === b);
        loadLog().catch(fail);
      });
    }
    window.addEventListener('hashchange', route);
    route();
  });
})();
