// The Node.js `ws` broadcast server for bench/fanout.sh: every 500 ms one
// `monitoring_data`-shaped message of SIZE bytes (with the current timestamp, so the
// load generator can tell broadcasts apart) is made into one Buffer and sent as text to every
// open client with `ws`'s own `send`, the way `ws`'s documentation broadcasts.
// Answers `{"type":"ping"}` with a pong, as the monitoring server does.
//
//   node server.js PORT [SIZE]
'use strict';
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || 18998);
const size = Number(process.argv[3] || 700);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });

// Local time without a zone, microsecond digits, as the monitoring server writes it.
function stamp() {
  const now = new Date();
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 23) + '000';
}

function message() {
  const head = `{"type":"monitoring_data","timestamp":"${stamp()}","data":{"padding":"`;
  const tail = '"},"alerts":[]}';
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - tail.length)) + tail);
}

wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data) => {
    if (data.toString().includes('"ping"')) {
      ws.send(JSON.stringify({ type: 'pong', timestamp: stamp() }));
    }
  });
});

setInterval(() => {
  const buffer = message();
  for (const client of wss.clients) {
    if (client.readyState === WebSocket.OPEN) client.send(buffer, { binary: false });
  }
}, 500);
