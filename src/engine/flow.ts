/** Runs a YAML flow: its steps in order, through the same Vu object TypeScript scripts get. */
import type { FlowStep } from '../scenarios/flow-schema.js';
import type { Vu } from './vu-api.js';

/** {user}, {index}, {contact:N}, {channel:N} in a step's text. */
export function expand(text: string, vu: Vu, channels: readonly string[]): string {
  return text.replace(/\{(user|index|contact|channel)(?::(\d+))?\}/g, (whole, name: string, n: string | undefined) => {
    const i = Number(n ?? 0);
    if (name === 'user') return vu.name;
    if (name === 'index') return String(vu.index + 1);
    if (name === 'contact') return vu.contacts[i % Math.max(1, vu.contacts.length)] ?? whole;
    return channels[i] ?? whole;
  });
}

export async function runFlow(vu: Vu, steps: readonly FlowStep[], joined: string[] = []): Promise<void> {
  for (const step of steps) {
    switch (step.do) {
      case 'logon':
        if (!(await vu.logon())) return; // failures are already counted; a flow cannot go on offline
        break;
      case 'logoff':
        await vu.logoff();
        return;
      case 'join': {
        const channel = expand(step.channel, vu, joined);
        if (await vu.join(channel)) joined.push(channel);
        break;
      }
      case 'part': {
        const channel = expand(step.channel, vu, joined);
        await vu.part(channel);
        joined.splice(joined.indexOf(channel), 1);
        break;
      }
      case 'say':
        for (let i = 0; i < step.count; i++) {
          if (i > 0 && step.every !== undefined) await vu.think(step.every);
          await vu.say(expand(step.channel, vu, joined), expand(step.text, vu, joined));
        }
        break;
      case 'message':
        await vu.message(expand(step.to, vu, joined), expand(step.text, vu, joined));
        break;
      case 'presence':
        await vu.presence(step.state);
        break;
      case 'think':
        await vu.think(step.for);
        break;
      case 'loop':
        for (let i = 0; i < step.times; i++) await runFlow(vu, step.steps, joined);
        break;
      case 'expect':
        if (step.message) {
          await vu.expectMessage({
            from: step.message.from && expand(step.message.from, vu, joined),
            channel: step.message.channel && expand(step.message.channel, vu, joined),
            contains: step.message.contains && expand(step.message.contains, vu, joined),
            within: step.within,
          });
        } else if (step.presence) {
          await vu.expectPresence({ contact: expand(step.presence.contact, vu, joined), state: step.presence.state, within: step.within });
        }
        break;
    }
  }
}
