// The connection to the person's broker: MQTT 5 over WebSockets, signed in as
// the person. Commands go to cmd/<kind> in the person's tree with a response
// topic under its reply/ and correlation data; the daemon's reply comes back
// there (interfaces.md section 7.2). The topics are app-config.json's (topics.js).

import mqtt from 'mqtt';
import { Buffer } from 'buffer';

const REPLY_TIMEOUT_MS = 15000;

export class Link extends EventTarget {
  constructor({ url, user, password, clientId, topics }) {
    super();
    this.user = user;
    this.topics = topics;
    this.replyTopic = topics.reply;
    this.pending = new Map();
    this.seq = 0;
    this.status = 'connecting';
    this.client = mqtt.connect(url, {
      protocolVersion: 5,
      username: user,
      password,
      clientId: `pacer-${clientId}`.slice(0, 64),
      // A session the broker keeps for a day: prompts sent while the phone
      // was away arrive when it is back, unless they have expired.
      clean: false,
      properties: { sessionExpiryInterval: 86400 },
      reconnectPeriod: 3000,
      connectTimeout: 10000,
      keepalive: 30,
    });
    this.client.on('connect', () => this._connected());
    this.client.on('reconnect', () => this._status('connecting'));
    this.client.on('close', () => this._status('offline'));
    this.client.on('error', (err) => this._status('error', err.message || String(err)));
    this.client.on('message', (topic, payload, packet) => this._message(topic, payload, packet));
  }

  _status(status, detail = '') {
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: { status, detail } }));
  }

  _connected() {
    // Subscribing again on every connection makes the broker send the
    // retained state and summaries again (retain handling 0).
    const topics = [...this.topics.names.keys(), this.replyTopic];
    this.client.subscribe(topics, { qos: 1 }, (err) => {
      if (err) this._status('error', `subscribe refused: ${err.message}`);
      else this._status('online');
    });
  }

  _message(topic, payload, packet) {
    const props = packet.properties || {};
    if (topic === this.replyTopic) {
      this._reply(payload, props.correlationData);
      return;
    }
    const name = this.topics.names.get(topic);
    if (name === undefined) return; // not a topic this app asked for
    const text = payload.toString();
    let body = null;
    if (name === 'status') {
      body = text;
    } else if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        return; // not ours to show
      }
    }
    const expiry = props.messageExpiryInterval;
    const detail = {
      name, body, retain: packet.retain,
      expiresAt: typeof expiry === 'number' ? Date.now() + expiry * 1000 : null,
    };
    this.dispatchEvent(new CustomEvent('message', { detail }));
  }

  _reply(payload, correlation) {
    const id = correlation ? Buffer.from(correlation).toString() : '';
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    let body;
    try {
      body = JSON.parse(payload.toString());
    } catch {
      body = { ok: false, error: 'pacer sent a reply this app cannot read' };
    }
    waiting.resolve(body);
  }

  /** Send cmd/<kind>; resolves with the daemon's reply ({ok, error}). */
  command(kind, body) {
    const id = `${Date.now().toString(36)}-${(this.seq++).toString(36)}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, error: 'no answer from pacer yet: it may be offline. ' +
          'The message is kept and will reach it when it is back.', timeout: true });
      }, REPLY_TIMEOUT_MS);
      this.pending.set(id, { resolve, timer });
      this.client.publish(this.topics.cmd(kind), JSON.stringify(body), {
        qos: 1,
        properties: { responseTopic: this.replyTopic, correlationData: Buffer.from(id) },
      }, (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve({ ok: false, error: `the broker refused the message: ${err.message}` });
        }
      });
    });
  }

  close() {
    this.client.end(true);
  }
}
