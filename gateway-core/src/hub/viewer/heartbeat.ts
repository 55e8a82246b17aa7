/**
 * Keep-alive for viewer sockets. A page that is only watching sends nothing
 * on `/viewer/ws` for as long as it plays, and proxies in front of the hub
 * close idle WebSockets (nginx `proxy_read_timeout`, 60 s by default) — which
 * would fail every player on the page. A ping frame every `intervalMs`
 * (RFC 6455 §5.5.2; browsers answer with a pong, §5.5.3, without page code)
 * keeps the path busy, and a socket that answered none of the last round is
 * a vanished browser: it is terminated so its players are released.
 */
import type { WebSocket } from 'ws';

/** Starts pinging `ws`; returns the stop function (also called when the socket closes). */
export function keepViewerSocketAlive(ws: WebSocket, intervalMs: number): () => void {
  let answered = true;
  const onPong = (): void => {
    answered = true;
  };
  ws.on('pong', onPong);
  const timer = setInterval(() => {
    if (ws.readyState !== ws.OPEN) return;
    if (!answered) {
      ws.terminate();
      return;
    }
    answered = false;
    ws.ping();
  }, intervalMs);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    ws.off('pong', onPong);
  };
  ws.once('close', stop);
  return stop;
}
