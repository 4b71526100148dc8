// The phone app's topics come from app-config.json ("topics", written by
// pacer/contract/topics.py app_topics): templates with {user}, {kind} and
// {client} slots. The app fills the slots in and builds no topic of its own.

/** The app's topics for one signed-in account, or null when the config has none. */
export function appTopics(config, user, clientId) {
  const t = config && config.topics;
  if (!t || typeof t.subscribe !== 'object' || typeof t.cmd !== 'string' || typeof t.reply !== 'string') {
    return null;
  }
  const fill = (template, slots) => template.replace(/\{(user|kind|client)\}/g, (_m, k) => slots[k]);
  const byTopic = new Map();
  for (const [name, template] of Object.entries(t.subscribe)) {
    byTopic.set(fill(template, { user }), name);
  }
  return {
    names: byTopic, // topic -> the name the screens use ('prompt', 'summary/day', ...)
    reply: fill(t.reply, { user, client: clientId }),
    cmd: (kind) => fill(t.cmd, { user, kind }),
  };
}
