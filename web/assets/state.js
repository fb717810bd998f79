// Shared page state and a small event bus between the modules.
//   bus events: "open" {id}, "prompt" {prompt} (the open prompt's latest version),
//   "changed" {event} (a catalog event), "session" {...}

export const state = {
  client: null, // McpClient
  current: null, // the open prompt (latest version known)
  editorDirty: false, // the editor has unsaved edits
};

export const bus = new EventTarget();

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

export function on(name, fn) {
  const handler = (e) => fn(e.detail);
  bus.addEventListener(name, handler);
  return () => bus.removeEventListener(name, handler);
}

/** True when a catalog event was caused by this page's own session. */
export function isMine(event) {
  return !!event?.actor && event.actor === state.client?.sessionId;
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
