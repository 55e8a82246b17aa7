'use strict';

/**
 * Collects messages from a helper node; `next(pred)` waits for the first match, at most `ms` (default 30 s),
 * then rejects saying what it waited for, so a message that never comes fails the test instead of hanging it.
 */
function collector(node) {
  const msgs = [];
  const waiters = [];
  node.on('input', (msg) => {
    msgs.push(msg);
    for (const w of [...waiters]) {
      if (!w.pred(msg)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(msg);
    }
  });
  return {
    msgs,
    next: (pred = () => true, ms = 30_000) =>
      new Promise((resolve, reject) => {
        const hit = msgs.find(pred);
        if (hit) return resolve(hit);
        const w = {
          pred,
          resolve: (m) => {
            clearTimeout(w.timer);
            resolve(m);
          },
          timer: setTimeout(() => {
            waiters.splice(waiters.indexOf(w), 1);
            reject(new Error(`no matching message on ${node.id} within ${ms} ms (${msgs.length} others seen)`));
          }, ms),
        };
        waiters.push(w);
      }),
  };
}

module.exports = { collector };
