'use strict';
const { loadCore } = require('../lib/core.js');
const { exposureStatus } = require('../lib/status.js');
const { transitionMessage } = require('../lib/flag-messages.js');
const { parsePorts, portsMessage } = require('../lib/validate.js');

/** Longest schedule: one week, in minutes (setInterval's limit is ~24.8 days). */
const MAX_INTERVAL_MIN = 7 * 24 * 60;

/**
 * camgate-exposure: runs the gateway's LAN audit (telnet on cameras, UPnP
 * mappings to cameras, opt-in default credentials) on an input message or
 * every N minutes. Output 1: one message per flag raised or cleared by the
 * audit. Output 2: one summary per audit. Status: the worst current state of
 * the gateway's flags (exposed > at risk), whatever raised them; with none,
 * "ok" only after an audit of this node whose checks all ran (lib/status.js).
 */
/** @param {import('../lib/types').NodeRedApi} RED */
module.exports = function (RED) {
  /**
   * @this {import('../lib/types').GatewayUserNode}
   * @param {import('../lib/types').ExposureNodeDef} n
   */
  function CamgateExposureNode(n) {
    RED.nodes.createNode(this, n);
    const node = this;
    node.gateway = /** @type {import('../lib/types').GatewayNode | null} */ (RED.nodes.getNode(n.gateway ?? ''));
    if (!node.gateway || !node.gateway.runtime) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('camgate-exposure.status.noGateway') });
      node.error(RED._('camgate-exposure.errors.noGateway'));
      return;
    }
    const runtime = node.gateway.runtime;
    const intervalMin = Number(n.intervalMin || 0);
    if (!Number.isFinite(intervalMin) || intervalMin < 0 || intervalMin > MAX_INTERVAL_MIN) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('camgate-exposure.status.badSchedule') });
      node.error(
        RED._('camgate-exposure.errors.badSchedule', {
          value: String(n.intervalMin).slice(0, 32),
          max: MAX_INTERVAL_MIN,
        }),
      );
      return;
    }
    let telnetPorts;
    try {
      telnetPorts = parsePorts(n.telnetPorts);
    } catch (err) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('camgate-exposure.status.badTelnetPorts') });
      node.error(portsMessage(RED._, err, RED._('camgate-exposure.errors.telnetPortsName')));
      return;
    }
    /** @type {{ enabled: boolean, ssdpAddress?: string, ssdpPort?: number }} */
    const upnp = { enabled: n.upnp !== false };
    if (typeof n.ssdpAddress === 'string' && n.ssdpAddress.trim() !== '') upnp.ssdpAddress = n.ssdpAddress.trim();
    if (Number(n.ssdpPort) > 0) upnp.ssdpPort = Number(n.ssdpPort);
    const auditOptions = {
      telnet: { enabled: n.telnet !== false },
      upnp,
      defaultCredentials: { enabled: n.defaultCredentials === true },
    };
    /** @type {Promise<void> | undefined} */
    let running;
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    let closed = false;
    const abort = new AbortController();
    /** What this node has looked at: no "ok" before a first audit, nor after one whose checks failed. */
    const audited = { audits: 0, failedChecks: 0 };

    const showWorst = async () => {
      const core = await loadCore();
      if (closed || !runtime.store) return;
      const summary = core.exposureOf(runtime.store.list({ gatewayId: runtime.gatewayId }), '');
      node.status(exposureStatus(RED._, summary, audited));
    };
    const onTransition = () => void showWorst().catch(() => undefined);
    runtime.on('transition', onTransition);
    runtime.ready.then(onTransition, () => undefined);

    /**
     * One audit; resolves with [transitions, summary].
     * @returns {Promise<[import('../lib/types').FlagTransition[], import('../lib/types').AuditSummary]>}
     */
    const audit = async () => {
      const core = await loadCore();
      await runtime.ready;
      if (!runtime.store)
        throw new Error(RED._('camgate-exposure.errors.notRunning', { id: runtime.gatewayId, state: runtime.state }));
      /** @type {import('../lib/types').FlagTransition[]} */
      const transitions = [];
      const store = runtime.store;
      const lan = new core.LanAudit({
        gatewayId: runtime.gatewayId,
        cameras: runtime.auditCameras().map((c) => (telnetPorts.length ? { ...c, telnetPorts } : c)),
        flags: {
          reconcile: async (/** @type {unknown} */ scope, /** @type {unknown} */ found) => {
            const t = await store.reconcile(scope, found);
            transitions.push(...t);
            return t;
          },
        },
        ...auditOptions,
        logger: runtime.logger?.child('audit'),
      });
      node.status({ fill: 'blue', shape: 'ring', text: RED._('camgate-exposure.status.auditing') });
      const result = await lan.run({ signal: abort.signal });
      audited.audits += 1;
      audited.failedChecks = result.errors.length;
      const summary = core.exposureOf(store.list({ gatewayId: runtime.gatewayId }), result.finishedAt);
      return [
        transitions,
        {
          gatewayId: runtime.gatewayId,
          startedAt: result.startedAt,
          finishedAt: result.finishedAt,
          checked: result.checked,
          errors: result.errors.map((/** @type {{ kind: string, error: Error & { code?: string } }} */ e) => ({
            kind: e.kind,
            code: e.error.code,
            message: e.error.message,
          })),
          raised: transitions.filter((t) => t.to === 'raised').length,
          cleared: transitions.filter((t) => t.to === 'cleared').length,
          exposure: summary,
        },
      ];
    };

    /**
     * @param {object | undefined} msg
     * @param {(m: unknown) => void} send
     * @param {(err?: Error) => void} done
     */
    const run = (msg, send, done) => {
      if (running) {
        done(new Error(RED._('camgate-exposure.errors.busy')));
        return;
      }
      running = audit()
        .then(([transitions, summary]) => {
          if (closed) return done();
          /** @type {object} */
          const base = msg ? RED.util.cloneMessage(msg) : {};
          const flagMsgs = transitions.map((t) => ({ ...base, ...transitionMessage(t) }));
          send([flagMsgs, { ...base, topic: `camgate/${summary.gatewayId}/audit`, payload: summary }]);
          void showWorst().catch(() => undefined);
          done();
        })
        .catch((err) => {
          if (closed) return done();
          node.status({ fill: 'red', shape: 'ring', text: RED._('camgate-exposure.status.failed') });
          done(err instanceof Error ? err : new Error(String(err)));
        })
        .finally(() => {
          running = undefined;
        });
    };

    node.on('input', (msg, send, done) => run(msg, send, done));
    /**
     * A run nobody's message started (the schedule, deploy). Its failure goes to node.error(err, msg) with a
     * message of its own, so Catch nodes see it as they see a failed input (Node-RED calls Catch only with a msg).
     */
    /** @param {'schedule' | 'deploy'} trigger */
    const runUnprompted = (trigger) => {
      const msg = { topic: `camgate/${runtime.gatewayId}/audit`, payload: { trigger } };
      run(
        undefined,
        (m) => node.send(m),
        (err) => err && node.error(err, msg),
      );
    };
    if (intervalMin > 0) timer = setInterval(() => runUnprompted('schedule'), intervalMin * 60_000);
    if (n.runOnDeploy === true) {
      // After the gateway's store is open; errors surface like a scheduled run's.
      setImmediate(() => !closed && runUnprompted('deploy'));
    }

    node.on('close', (removed, done) => {
      closed = true;
      clearInterval(timer);
      runtime.off('transition', onTransition);
      abort.abort(new Error(RED._('camgate-exposure.errors.closed')));
      Promise.resolve(running).then(
        () => done(),
        () => done(),
      );
    });
  }
  RED.nodes.registerType('camgate-exposure', CamgateExposureNode);
};
