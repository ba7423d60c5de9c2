// bench_peers.js - the Node verifiers users would otherwise pick, on the
// vectors bench_verify (C) wrote. Usage: node bench_peers.js VECTOR_DIR [--quick]
// (NODE_PATH: the scratch node_modules bench/run.sh installed them into).
// Prints "M node.<peer>.<scheme>.<size> <ns> ns" lines.
'use strict';
const fs = require('fs');

const TS = 1778155200;
// Every vector was signed at TS: the peers read the clock, so the clock is TS.
Date.now = () => TS * 1000;

const SIZES = [256, 1024, 16384, 1048576];
const vdir = process.argv[2];
const quick = process.argv.includes('--quick');
const rounds = quick ? 2 : 7;

function load(scheme, size) {
  const body = fs.readFileSync(`${vdir}/${scheme}_${size}.body`);
  const headers = {};
  for (const line of fs.readFileSync(`${vdir}/${scheme}_${size}.headers`, 'ascii').split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) headers[line.slice(0, i)] = line.slice(i + 2);
  }
  const secret = fs.readFileSync(`${vdir}/${scheme}.secret`, 'ascii');
  return { body, headers, secret };
}

function bestNs(fn, iters) {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) fn();
    const per = Number(process.hrtime.bigint() - t0) / iters;
    if (per < best) best = per;
  }
  return best;
}

const peers = [
  ['standardwebhooks', 'standard', (v) => {
    const { Webhook } = require('standardwebhooks');
    const wh = new Webhook(v.secret);
    const text = v.body.toString('utf8');
    return () => wh.verify(text, v.headers);
  }],
  ['svix', 'standard', (v) => {
    const { Webhook } = require('svix');
    const wh = new Webhook(v.secret);
    const text = v.body.toString('utf8');
    return () => wh.verify(text, v.headers);
  }],
  ['stripe', 'stripe', (v) => {
    const stripe = require('stripe')('sk_test_bench_not_a_key');
    const sig = v.headers['stripe-signature'];
    return () => stripe.webhooks.constructEvent(v.body, sig, v.secret, 300);
  }],
];

for (const [name, scheme, make] of peers) {
  for (const size of SIZES) {
    if (quick && size !== 1024) continue;
    const fn = make(load(scheme, size));
    fn(); // throws if the peer rejects the vector
    const iters = Math.max(10, Math.floor((quick ? 2e5 : 2e6) / (size + 1500)));
    bestNs(fn, iters); // warm the JIT
    console.log(`M\tnode.${name}.${scheme}.${size}\t${bestNs(fn, iters).toFixed(1)}\tns`);
  }
}
