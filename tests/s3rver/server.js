// Starts s3rver on 127.0.0.1, a free port, with a fresh directory, and prints
// {"port": N, "pid": P} once it listens. Every S3 event record s3rver emits is
// POSTed to the webhook URL given as the first argument (MinIO's webhook
// target shape: the record JSON with Records[]). Runs until SIGTERM.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const S3rver = require('s3rver');

const webhook = process.argv[2];
const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-s3rver-'));
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });

server.on('event', (event) => {
  if (!webhook) return;
  const body = JSON.stringify(event);
  const req = http.request(webhook, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  req.on('error', (e) => console.error('webhook post failed: ' + e.message));
  req.end(body);
});

server.run().then((address) => {
  process.stdout.write(JSON.stringify({ port: address.port, pid: process.pid }) + '\n');
});

process.on('SIGTERM', () => {
  server.close(() => {
    fs.rmSync(directory, { recursive: true, force: true });
    process.exit(0);
  });
});
