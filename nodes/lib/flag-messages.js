'use strict';

/**
 * The message for one flag transition: topic `camgate/<gateway>/flags/<flag id>`, payload the flag with from/to/at.
 * @param {import('./types').FlagTransition} t
 */
function transitionMessage(t) {
  return {
    topic: `camgate/${t.flag.gatewayId}/flags/${t.flag.id}`,
    payload: { from: t.from, to: t.to, at: t.at, flag: t.flag },
  };
}

module.exports = { transitionMessage };
