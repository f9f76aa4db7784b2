import type { FastifyReply } from 'fastify';

/**
 * Sends answers as JSON, serializing each object once: for routes whose services hand out the
 * same object again while it holds (a workspace page whose stamp has not changed, a configuration
 * view of one commit), the text made the first time is sent again. Objects are immutable answers;
 * a new answer is a new object, so nothing here can go stale. One per route: the text is made by
 * that route's response schema.
 */
export function jsonOnce(): (reply: FastifyReply, answer: object) => FastifyReply {
  const texts = new WeakMap<object, string>();
  return (reply, answer) => {
    let text = texts.get(answer);
    if (text === undefined) {
      text = reply.serialize(answer) as string;
      texts.set(answer, text);
    }
    return reply.type('application/json; charset=utf-8').send(text);
  };
}
