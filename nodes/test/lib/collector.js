'use strict';

/** Collects messages from a helper node; `next(pred)` waits for the first match. */
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
    next: (pred = () => true) =>
      new Promise((resolve) => {
        const hit = msgs.find(pred);
        if (hit) return resolve(hit);
        waiters.push({ pred, resolve });
      }),
  };
}

module.exports = { collector };
